// Tests of Prompts by hand: what sentence-transformers 6.2 loads from a saved
// config_sentence_transformers.json (checked against SentenceTransformer(path).prompts) and which
// prompt its encode, encode_query and encode_document apply.
#include "model/prompts.h"

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "test_support.h"

namespace embedtune {
namespace {

using nlohmann::json;
using testing::error_of;
const std::filesystem::path kPath = "m/config_sentence_transformers.json";
constexpr auto kNone = std::nullopt;

Prompts load(const json& config) { return Prompts::from_config(config, kPath); }

TEST(Prompts, SavedPromptsMergeOverTheQueryAndDocumentDefaults) {
  // ST: {"passage": "p: ", "query": None} -> {'query': '', 'document': '', 'passage': 'p: '}.
  const Prompts p = load(json::parse(R"({"prompts": {"passage": "p: ", "query": null}})"));
  const std::map<std::string, std::string> expected{
      {"query", ""}, {"document", ""}, {"passage", "p: "}};
  EXPECT_EQ(p.by_name(), expected);
  EXPECT_FALSE(p.default_prompt_name());
  EXPECT_EQ(load(json::object()).by_name(),
            (std::map<std::string, std::string>{{"query", ""}, {"document", ""}}));
}

TEST(Prompts, EncodeQueryAndEncodeDocumentPickTheirPrompts) {
  const Prompts p = load(json::parse(
      R"({"prompts": {"query": "Instruct: find\nQuery:", "document": "doc: ", "passage": "p: "},
          "default_prompt_name": "passage"})"));
  EXPECT_EQ(p.resolve(kNone, kNone, EncodeTask::kQuery), "Instruct: find\nQuery:");
  EXPECT_EQ(p.resolve(kNone, kNone, EncodeTask::kDocument), "doc: ");
  EXPECT_EQ(p.resolve(kNone, kNone), "p: ");  // encode: default_prompt_name
  // An explicit prompt wins, even an empty one; then a name.
  EXPECT_EQ(p.resolve(std::string(), kNone), "");
  EXPECT_EQ(p.resolve("x: ", "query", EncodeTask::kDocument), "x: ");
  EXPECT_EQ(p.resolve(kNone, "document", EncodeTask::kQuery), "doc: ");
}

TEST(Prompts, DocumentIsAlwaysThereSoPassageIsNotReachedByDefault) {
  // "document" is one of ST's defaults, so encode_document takes its "" before "passage".
  const Prompts p = load(json::parse(R"({"prompts": {"passage": "p: "}})"));
  EXPECT_EQ(p.resolve(kNone, kNone, EncodeTask::kDocument), "");
  EXPECT_EQ(p.resolve(kNone, kNone), "");
}

TEST(Prompts, DefaultPromptNameAppliesToEncodeOnly) {
  const Prompts p =
      load(json::parse(R"({"prompts": {"query": "q: "}, "default_prompt_name": "query"})"));
  EXPECT_EQ(p.resolve(kNone, kNone), "q: ");
  EXPECT_EQ(p.resolve(kNone, kNone, EncodeTask::kDocument), "");  // "document" is ""
  // "query" and "document" are valid default names even when the file does not list them.
  EXPECT_EQ(*load(json::parse(R"({"default_prompt_name": "document"})")).default_prompt_name(),
            "document");
}

TEST(Prompts, UnknownNameListsTheKnownOnes) {
  const Prompts p = load(json::parse(R"({"prompts": {"passage": "p: "}})"));
  const std::string message = error_of([&] { p.resolve(kNone, "qery"); });
  EXPECT_NE(message.find("'qery'"), std::string::npos) << message;
  EXPECT_NE(message.find("document, passage, query"), std::string::npos) << message;
}

TEST(Prompts, MalformedConfigNamesTheFileAndKey) {
  const auto message = [](const char* text) { return error_of([&] { load(json::parse(text)); }); };
  for (const char* bad : {R"({"prompts": []})", R"({"prompts": null})", R"({"prompts": "q: "})"}) {
    const std::string m = message(bad);
    EXPECT_NE(m.find(kPath.string() + ": \"prompts\" must be an object"), std::string::npos) << m;
  }
  std::string m = message(R"({"prompts": {"query": 3}})");
  EXPECT_NE(m.find("\"query\" must be a string"), std::string::npos) << m;
  EXPECT_NE(m.find("number"), std::string::npos) << m;
  m = message(R"({"prompts": {"a": "x"}, "default_prompt_name": "b"})");
  EXPECT_NE(m.find("\"default_prompt_name\""), std::string::npos) << m;
  EXPECT_NE(m.find("(a, document, query), found \"b\""), std::string::npos) << m;
  m = message(R"({"default_prompt_name": 3})");
  EXPECT_NE(m.find("found 3"), std::string::npos) << m;
  m = message("[]");
  EXPECT_NE(m.find(kPath.string() + ": expected a JSON object"), std::string::npos) << m;
}

}  // namespace
}  // namespace embedtune
