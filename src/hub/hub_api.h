// Requests to the Hub with what every call needs: the token (only to the endpoint's own host),
// a user agent, retries with backoff on network failures, 429 and 5xx, relative redirects
// followed, and errors that say what happened (401/403 with the token hint, 404 naming the
// repository, revision or file).
#pragma once

#include <string>
#include <string_view>

#include "hub/http.h"
#include "hub/hub_settings.h"
#include "io/error.h"

namespace embedtune::hub {

struct RepoRef {
  RepoType type = RepoType::kModel;
  std::string id;  // "org/name"

  // "model 'org/name'", "dataset 'org/name'".
  std::string describe() const;
};

// The Hub could not be reached: a network failure after the retries, or a 5xx answer after
// them. Callers that can fall back on the cache catch this; its message is the whole
// one-line error.
struct UnreachableError : Error {
  using Error::Error;
};

// Adds what every request to the Hub carries: the user agent, and the token when `request.url`
// is on the endpoint's own origin (never to a CDN or storage host a redirect names).
void add_hub_headers(const HubSettings& settings, HttpRequest& request);

// Sends `request` (adding authorization when the URL's origin is the endpoint's, and the user
// agent), retrying settings.retries times after a NetworkError, a 429 or a 5xx (waits 0.25 s,
// doubling, at most 4 s), and following redirects whose Location is relative (repository
// renames) when `follow_relative` is set. Returns the last response, whatever its status.
// Throws UnreachableError after the last failed retry: "WHAT: network failure after N retries:
// REASON".
HttpResponse hub_request(const HubSettings& settings, HttpRequest request, std::string_view what,
                         bool follow_relative = true);

// Throws Error unless `response` is 2xx (UnreachableError for a 5xx): 401/403 with
// settings.token_hint(), 404 naming the repository, the revision or the file from the Hub's
// X-Error-Code, else the status and the first line of the Hub's message. `what` says what was being
// done ("download config.json").
void check_response(const HubSettings& settings, const HttpResponse& response, const RepoRef& repo,
                    std::string_view what, std::string_view revision = "");

// The JSON error message of a Hub response ({"error": "..."}), else its first line of text.
std::string response_message(const HttpResponse& response);

}  // namespace embedtune::hub
