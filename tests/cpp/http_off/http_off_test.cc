// The Hub client's HTTP layer as the GPU machine builds it (-DEMBEDTUNE_HTTP=OFF, no libcurl):
// src/hub/http.cc compiled with EMBEDTUNE_WITH_CURL=0 into this test alone, so that every build
// compiles that branch and checks what a request then does.
#include <gtest/gtest.h>

#include <string>

#include "hub/http.h"
#include "io/error.h"

namespace embedtune::hub {
namespace {

TEST(HttpWithoutCurl, ARequestFailsAtOnceSayingWhyAndWhatToDo) {
  HttpRequest request;
  request.url = "https://huggingface.co/api/models/BAAI/bge-base-en-v1.5";
  try {
    perform(request);
    FAIL() << "a request went through in a build without libcurl";
  } catch (const NetworkError& error) {
    // The Hub client retries a NetworkError: here retrying cannot help.
    FAIL() << "a NetworkError, which the Hub client would retry: " << error.what();
  } catch (const Error& error) {
    const std::string message = error.what();
    EXPECT_EQ(message.rfind(request.url + ": ", 0), 0u) << message;
    EXPECT_NE(message.find("-DEMBEDTUNE_HTTP=OFF"), std::string::npos) << message;
    EXPECT_NE(message.find("use local files"), std::string::npos) << message;
  }
}

}  // namespace
}  // namespace embedtune::hub
