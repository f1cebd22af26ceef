// The Hub client's HTTP layer as the GPU machine builds it (-DEMBEDTUNE_HTTP=OFF, no libcurl):
// src/hub/http.cc compiled with EMBEDTUNE_WITH_CURL=0 into this test alone, so that every build
// compiles that branch and checks what a request then does.
#include <gtest/gtest.h>

#include <string>

#include "hub/http.h"
#include "test_support.h"

namespace embedtune::hub {
namespace {

TEST(HttpWithoutCurl, ARequestFailsAtOnceSayingWhyAndWhatToDo) {
  HttpRequest request;
  request.url = "https://huggingface.co/api/models/BAAI/bge-base-en-v1.5";
  // An embedtune::Error, not a NetworkError (which would escape here and fail the test): the Hub
  // client retries a NetworkError, and retrying cannot help.
  const std::string message = testing::error_of([&] { perform(request); });
  EXPECT_EQ(message.rfind(request.url + ": ", 0), 0u) << message;
  EXPECT_NE(message.find("-DEMBEDTUNE_HTTP=OFF"), std::string::npos) << message;
  EXPECT_NE(message.find("use local files"), std::string::npos) << message;
}

}  // namespace
}  // namespace embedtune::hub
