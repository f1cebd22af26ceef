// One HTTP request on libcurl, without redirects followed or retries: the Hub client decides
// both (only relative redirects for metadata, no token sent to another host, retries on 5xx).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace embedtune::hub {

struct HttpRequest {
  std::string method = "GET";  // GET, HEAD, POST, PUT
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;  // sent as given
  std::string body;                                          // POST/PUT body
  // When set, a 200 or 206 response's body goes here chunk by chunk with the status (return
  // false to abort) instead of into HttpResponse::body; other bodies stay in the response.
  std::function<bool(long status, std::string_view chunk)> on_body;
};

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // names lower-case; the last value of each
  std::string body;

  std::string header(const std::string& lower_name) const {
    const auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

// Thrown when no HTTP answer came back whole: connection refused, reset, timed out, a body cut
// short. `what()` is one line naming the URL and libcurl's reason. Not an embedtune::Error: the
// caller retries it, then reports it as one.
struct NetworkError : std::runtime_error {
  NetworkError(const std::string& message, bool unknown_host = false)
      : std::runtime_error(message), unknown_host(unknown_host) {}
  bool unknown_host;  // the host name did not resolve: retrying soon rarely helps
};

// Performs `request` and returns the response of that one URL (a 3xx is returned, not followed).
// Throws NetworkError as above. A stall of 60 s without a byte fails the transfer. Thread-safe
// (one libcurl handle per call).
HttpResponse perform(const HttpRequest& request);

// The scheme, host and port of an absolute URL ("http://h:1/x" -> "http://h:1"), or "" for a
// relative one.
std::string url_origin(std::string_view url);

// Percent-encodes `text` as Python's urllib.parse.quote(text, safe=safe): letters, digits,
// "_.-~" and the characters of `safe` stay, everything else becomes %XX of its UTF-8 bytes.
std::string url_quote(std::string_view text, std::string_view safe = "/");

}  // namespace embedtune::hub
