// A small well-formedness check for the XML the report embeds (SVG): balanced tags, quoted
// attributes, no duplicate attribute, entities only in the &name; / &#n; forms.
#pragma once

#include <cctype>
#include <set>
#include <string>
#include <vector>

namespace embedtune::pipeline::testing {

// "" when `xml` is a well-formed sequence of elements (text allowed between them); otherwise
// what is wrong and at which byte offset.
inline std::string xml_problem(const std::string& xml) {
  std::vector<std::string> open;
  auto is_name = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == ':' ||
           c == '.';
  };
  auto check_entity = [&](size_t i) -> bool {  // xml[i] == '&'
    size_t j = i + 1;
    if (j < xml.size() && xml[j] == '#') ++j;
    const size_t start = j;
    while (j < xml.size() && std::isalnum(static_cast<unsigned char>(xml[j]))) ++j;
    return j > start && j < xml.size() && xml[j] == ';';
  };
  size_t i = 0;
  while (i < xml.size()) {
    const char c = xml[i];
    if (c == '&') {
      if (!check_entity(i)) return "bare & at " + std::to_string(i);
      ++i;
      continue;
    }
    if (c == '>') return "bare > at " + std::to_string(i);
    if (c != '<') {
      ++i;
      continue;
    }
    if (xml.compare(i, 4, "<!--") == 0) {
      const size_t end = xml.find("-->", i + 4);
      if (end == std::string::npos) return "unterminated comment at " + std::to_string(i);
      i = end + 3;
      continue;
    }
    const bool closing = i + 1 < xml.size() && xml[i + 1] == '/';
    size_t j = i + (closing ? 2 : 1);
    const size_t name_start = j;
    while (j < xml.size() && is_name(xml[j])) ++j;
    const std::string name = xml.substr(name_start, j - name_start);
    if (name.empty()) return "tag without a name at " + std::to_string(i);
    if (closing) {
      while (j < xml.size() && std::isspace(static_cast<unsigned char>(xml[j]))) ++j;
      if (j >= xml.size() || xml[j] != '>')
        return "bad closing tag </" + name + " at " + std::to_string(i);
      if (open.empty() || open.back() != name) {
        return "</" + name + "> at " + std::to_string(i) + " closes " +
               (open.empty() ? "nothing" : "<" + open.back() + ">");
      }
      open.pop_back();
      i = j + 1;
      continue;
    }
    std::set<std::string> attributes;
    while (true) {
      while (j < xml.size() && std::isspace(static_cast<unsigned char>(xml[j]))) ++j;
      if (j >= xml.size()) return "unterminated <" + name + "> at " + std::to_string(i);
      if (xml[j] == '>') {
        open.push_back(name);
        ++j;
        break;
      }
      if (xml.compare(j, 2, "/>") == 0) {
        j += 2;
        break;
      }
      const size_t a = j;
      while (j < xml.size() && is_name(xml[j])) ++j;
      const std::string attr = xml.substr(a, j - a);
      if (attr.empty() || j + 1 >= xml.size() || xml[j] != '=' || xml[j + 1] != '"') {
        return "bad attribute in <" + name + "> at " + std::to_string(a);
      }
      if (!attributes.insert(attr).second)
        return "duplicate attribute " + attr + " in <" + name + ">";
      const size_t end = xml.find('"', j + 2);
      if (end == std::string::npos) return "unterminated attribute " + attr;
      for (size_t k = j + 2; k < end; ++k) {
        if (xml[k] == '<') return "< in attribute " + attr + " at " + std::to_string(k);
        if (xml[k] == '&' && !check_entity(k)) return "bare & in attribute " + attr;
      }
      j = end + 1;
    }
    i = j;
  }
  if (!open.empty()) return "<" + open.back() + "> never closed";
  return "";
}

}  // namespace embedtune::pipeline::testing
