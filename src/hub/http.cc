// libcurl easy handles, one per request; or, built with -DEMBEDTUNE_HTTP=OFF (no libcurl: the
// GPU machine's build), a request is an error that says so.
#include "hub/http.h"

#include <fmt/format.h>

#include <cctype>
#include <cstdlib>

#if EMBEDTUNE_WITH_CURL
#include <curl/curl.h>

#include <memory>
#include <mutex>
#else
#include "io/error.h"
#endif

namespace embedtune::hub {
#if EMBEDTUNE_WITH_CURL
namespace {

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Transfer {
  const HttpRequest* request;
  HttpResponse* response;
  bool aborted_by_sink = false;
};

// Collects the headers of the last response (a "100 Continue" comes first on some uploads) and
// its status, known as soon as the status line arrives so that on_write can tell a body to
// stream from an error page.
size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  std::string_view line(data, size * count);
  if (line.starts_with("HTTP/")) {
    transfer->response->headers.clear();
    const auto space = line.find(' ');
    if (space != std::string_view::npos) {
      transfer->response->status =
          std::strtol(std::string(line.substr(space + 1, 3)).c_str(), nullptr, 10);
    }
    return size * count;
  }
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) return size * count;
  std::string name(line.substr(0, colon));
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
    value.remove_suffix(1);
  transfer->response->headers[name] = std::string(value);
  return size * count;
}

size_t on_write(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const std::string_view chunk(data, size * count);
  // Only a successful body is streamed; an error page is kept for the message.
  const long status = transfer->response->status;
  if (transfer->request->on_body && (status == 200 || status == 206)) {
    if (!transfer->request->on_body(status, chunk)) {
      transfer->aborted_by_sink = true;
      return 0;
    }
  } else if (transfer->response->body.size() < (64u << 20)) {
    transfer->response->body.append(chunk);
  }
  return chunk.size();
}

}  // namespace

HttpResponse perform(const HttpRequest& request) {
  global_init();
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> handle(curl_easy_init(), curl_easy_cleanup);
  if (!handle)
    throw NetworkError(fmt::format("{}: libcurl could not start a request", request.url));
  CURL* curl = handle.get();
  HttpResponse response;
  Transfer transfer{&request, &response};

  curl_slist* header_list = nullptr;
  for (const auto& [name, value] : request.headers) {
    header_list = curl_slist_append(header_list, (name + ": " + value).c_str());
  }
  // libcurl would otherwise send "Expect: 100-continue" for large bodies.
  header_list = curl_slist_append(header_list, "Expect:");
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> headers(header_list,
                                                                      curl_slist_free_all);

  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, header_list);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_write);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
  if (request.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (request.method == "POST" || request.method == "PUT") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
  } else if (request.method != "GET") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  const CURLcode code = curl_easy_perform(curl);
  if (code != CURLE_OK) {
    if (transfer.aborted_by_sink) {
      throw NetworkError(fmt::format("{}: the download was stopped while writing it", request.url));
    }
    throw NetworkError(fmt::format("{}: {}", request.url, curl_easy_strerror(code)),
                       code == CURLE_COULDNT_RESOLVE_HOST || code == CURLE_COULDNT_RESOLVE_PROXY);
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}
#else
// Not a NetworkError: retrying cannot help.
HttpResponse perform(const HttpRequest& request) {
  fail(
      "{}: this embedtune was built without libcurl (-DEMBEDTUNE_HTTP=OFF), so it cannot reach "
      "the Hugging Face Hub; use local files, or build it with libcurl",
      request.url);
}
#endif

std::string url_origin(std::string_view url) {
  const auto scheme = url.find("://");
  if (scheme == std::string_view::npos) return "";
  const auto path = url.find('/', scheme + 3);
  return std::string(url.substr(0, path));
}

std::string url_quote(std::string_view text, std::string_view safe) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    const bool alnum = (u >= '0' && u <= '9') || (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z');
    if (alnum || c == '_' || c == '.' || c == '-' || c == '~' ||
        safe.find(c) != std::string_view::npos) {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

}  // namespace embedtune::hub
