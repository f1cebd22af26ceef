// Retries, redirects and error messages for Hub requests.
#include "hub/hub_api.h"

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "io/error.h"
#include "io/plural.h"

namespace embedtune::hub {
namespace {

bool retryable(long status) { return status == 429 || (status >= 500 && status <= 599); }

// A relative Location resolved against the origin of `url`; an absolute one as it is.
std::string resolve_location(const std::string& url, const std::string& location) {
  if (!location.starts_with("/")) return location;
  return url_origin(url) + location;
}

}  // namespace

std::string RepoRef::describe() const { return fmt::format("{} '{}'", repo_type_name(type), id); }

std::string response_message(const HttpResponse& response) {
  std::string message;
  const auto json = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (json.is_object() && json.contains("error") && json["error"].is_string()) {
    message = json["error"].get<std::string>();
  } else {
    message = response.body.substr(0, response.body.find('\n'));
  }
  if (message.size() > 200) message = message.substr(0, 200) + "...";
  return message;
}

void add_hub_headers(const HubSettings& settings, HttpRequest& request) {
  request.headers.emplace_back("user-agent", "embedtune/1; hf_hub_protocol/1");
  if (!settings.token.empty() && url_origin(request.url) == url_origin(settings.endpoint)) {
    request.headers.emplace_back("authorization", settings.bearer());
  }
}

HttpResponse hub_request(const HubSettings& settings, HttpRequest request, std::string_view what,
                         bool follow_relative) {
  double wait_s = 0.25;
  int redirects = 0;
  for (int attempt = 0;; ++attempt) {
    HttpRequest sent = request;
    add_hub_headers(settings, sent);
    HttpResponse response;
    try {
      response = perform(sent);
    } catch (const NetworkError& error) {
      // An unknown host is retried once only: a name that does not resolve rarely comes back.
      const int retries = error.unknown_host ? std::min(settings.retries, 1) : settings.retries;
      if (attempt >= retries) {
        throw UnreachableError(fmt::format(
            "{}: network failure after {}: {}; check the connection (HF_ENDPOINT={})", what,
            io::counted(retries, "retry", "retries"), error.what(), settings.endpoint));
      }
      std::this_thread::sleep_for(std::chrono::duration<double>(wait_s));
      wait_s = std::min(wait_s * 2, 4.0);
      continue;
    }
    if (retryable(response.status) && attempt < settings.retries) {
      std::this_thread::sleep_for(std::chrono::duration<double>(wait_s));
      wait_s = std::min(wait_s * 2, 4.0);
      continue;
    }
    const std::string location = response.header("location");
    if (follow_relative && response.status >= 300 && response.status < 400 &&
        location.starts_with("/") && ++redirects <= 10) {
      request.url = resolve_location(request.url, location);
      attempt = -1;
      continue;
    }
    return response;
  }
}

void check_response(const HubSettings& settings, const HttpResponse& response, const RepoRef& repo,
                    std::string_view what, std::string_view revision) {
  if (response.status >= 200 && response.status < 300) return;
  const std::string message = response_message(response);
  const std::string code = response.header("x-error-code");
  if (response.status == 401 || response.status == 403) {
    fail("{}: {} {} for {} on {} ({}); {}", what, response.status,
         response.status == 401 ? "Unauthorized" : "Forbidden", repo.describe(), settings.endpoint,
         message, settings.token_hint());
  }
  if (response.status == 404) {
    if (code == "RevisionNotFound") {
      fail("{}: revision '{}' not found in {} on {}; check --revision (a branch, tag or commit)",
           what, revision, repo.describe(), settings.endpoint);
    }
    if (code == "EntryNotFound") {
      fail("{}: not found in {} at revision '{}' on {}", what, repo.describe(), revision,
           settings.endpoint);
    }
    fail(
        "{}: {} not found on {}: check the name (and --repo-type), or set HF_TOKEN if it is "
        "private",
        what, repo.describe(), settings.endpoint);
  }
  const std::string text =
      fmt::format("{}: the Hub ({}) answered HTTP {}{}{}", what, settings.endpoint, response.status,
                  message.empty() ? "" : ": ", message);
  if (response.status >= 500) throw UnreachableError(text);
  fail("{}", text);
}

}  // namespace embedtune::hub
