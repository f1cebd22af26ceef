// The chat template engine against transformers' Jinja environment: every case of
// tests/python/oracle_chat_template.py renders to the oracle's text, or fails where it failed.
// Then the ChatTemplate facade: how a folder's template is found and a text becomes messages.
#include "tokenizer/chat_template.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "test_support.h"
#include "tokenizer/jinja/template.h"

namespace embedtune {
namespace {

using testing::read_bytes;

nlohmann::ordered_json oracle_cases() {
  const auto dir = testing::testdata_dir("chat_template", "cases.json");
  return nlohmann::ordered_json::parse(read_bytes(dir / "cases.json"));
}

TEST(JinjaTemplate, RendersEveryOracleCaseAsTransformers) {
  const auto cases = oracle_cases();
  ASSERT_GE(cases.size(), 50u);
  int failures_expected = 0;
  for (const auto& c : cases) {
    const std::string name = c["name"];
    SCOPED_TRACE(name);
    const std::string source = c["template"];
    if (c.contains("error")) {
      ++failures_expected;
      // A syntax error may surface at parse time, the others when rendering; both must throw
      // embedtune::Error naming the template.
      try {
        jinja::Template t(source, "case '" + name + "'");
        const std::string out = t.render(c["context"]);
        ADD_FAILURE() << "rendered " << out << " where jinja2 raised " << c["oracle_error"];
      } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("case '" + name + "':"), std::string::npos)
            << e.what();
      }
      continue;
    }
    try {
      jinja::Template t(source, name);
      EXPECT_EQ(t.render(c["context"]), c["expected"].get<std::string>());
    } catch (const Error& e) {
      ADD_FAILURE() << "threw " << e.what();
    }
  }
  EXPECT_GE(failures_expected, 5);
}

TEST(JinjaTemplate, ErrorsNameTheLineAndTheCause) {
  const std::string source =
      "line one\n{% if x %}\n{{ raise_exception('boom: ' ~ x) }}\n{% endif %}";
  jinja::Template t(source, "tmpl.jinja");
  EXPECT_EQ(testing::error_of([&] { t.render({{"x", 7}}); }),
            "tmpl.jinja:3: chat template raised an exception: boom: 7");
  EXPECT_EQ(t.render({{"x", 0}}), "line one\n");
  EXPECT_EQ(testing::error_of([] { jinja::Template("a\n{% for x in %}", "t"); }),
            "t:2: unexpected end of tag: expected an expression");
  EXPECT_EQ(testing::error_of([] { jinja::Template("{% include 'x' %}", "t"); }),
            "t:1: the Jinja statement 'include' is not supported in chat templates here "
            "(supported: if, for, set, macro, break, continue, filter, generation)");
}

TEST(JinjaTemplate, ReportsTheVariablesItReadsButDoesNotSet) {
  jinja::Template t(
      "{% set x = 1 %}{% for m in messages %}{{ m }}{{ loop.index }}{% endfor %}"
      "{% if task == 'query' %}{{ x }}{% endif %}{% macro f(a) %}{{ a }}{% endmacro %}",
      "t");
  EXPECT_TRUE(t.reads_variable("task"));
  EXPECT_TRUE(t.reads_variable("messages"));
  EXPECT_FALSE(t.reads_variable("x"));
  EXPECT_FALSE(t.reads_variable("m"));
  EXPECT_FALSE(t.reads_variable("loop"));
  EXPECT_FALSE(t.reads_variable("a"));
  EXPECT_FALSE(t.reads_variable("tools"));
}

TEST(ChatTemplate, BuildsTheConversationSentenceTransformersBuilds) {
  ChatTemplate chat("{% for m in messages %}{{ m.role }}={{ m.content }};{% endfor %}", "t",
                    nlohmann::ordered_json::object());
  EXPECT_EQ(chat.infer_format("qwen3"), ChatTemplate::MessageFormat::kFlat);
  EXPECT_EQ(chat.render(chat.conversation("hello", "")), "user=hello;");
  EXPECT_EQ(chat.render(chat.conversation("hello", "Instruct: x")),
            "system=Instruct: x;user=hello;");
  chat.set_format(ChatTemplate::MessageFormat::kStructured);
  EXPECT_EQ(chat.conversation("hi", "").dump(),
            R"([{"role":"user","content":[{"type":"text","text":"hi"}]}])");

  ChatTemplate parts("{{ messages[0].content[0].text }}", "t", nlohmann::ordered_json::object());
  EXPECT_EQ(parts.infer_format("qwen3"), ChatTemplate::MessageFormat::kStructured);
  EXPECT_EQ(parts.infer_format("gpt_oss"), ChatTemplate::MessageFormat::kFlat);
}

TEST(ChatTemplate, PassesTheTaskOnlyWhenOneIsGiven) {
  // As sentence-transformers: task= from encode_query / encode_document, nothing from encode.
  ChatTemplate chat("{{ messages[0].content }}{% if task is defined %}|{{ task }}{% endif %}", "t",
                    nlohmann::ordered_json::object());
  EXPECT_TRUE(chat.reads_variable("task"));
  EXPECT_EQ(chat.render(chat.conversation("hi", "")), "hi");
  EXPECT_EQ(chat.render(chat.conversation("hi", ""), "query"), "hi|query");
  EXPECT_EQ(chat.render(chat.conversation("hi", ""), "document"), "hi|document");
}

TEST(ChatTemplate, FindsTheFoldersTemplateAsTransformersDoes) {
  const testing::ScratchDir dir;
  EXPECT_FALSE(ChatTemplate::from_folder(dir.path()).has_value());
  dir.write("tokenizer_config.json",
            R"({"eos_token": "</s>", "bos_token": {"content": "<s>"}, "pad_token": null,
                          "chat_template": [{"name": "tool_use", "template": "T"},
                                            {"name": "default", "template": "{{ bos_token }}D{{ eos_token }}{{ pad_token }}"}]})");
  auto from_config = ChatTemplate::from_folder(dir.path());
  ASSERT_TRUE(from_config.has_value());
  EXPECT_EQ(from_config->render(nlohmann::ordered_json::array()), "<s>D</s>");
  // chat_template.jinja wins over tokenizer_config.json's entry.
  dir.write("chat_template.jinja", "J{{ messages | length }}\n");
  EXPECT_EQ(ChatTemplate::from_folder(dir.path())->render(nlohmann::ordered_json::array()), "J0");

  dir.write("chat_template.jinja", "{% if %}");
  const std::string message = testing::error_of([&] { ChatTemplate::from_folder(dir.path()); });
  EXPECT_NE(message.find("chat_template.jinja:1:"), std::string::npos) << message;
}

}  // namespace
}  // namespace embedtune
