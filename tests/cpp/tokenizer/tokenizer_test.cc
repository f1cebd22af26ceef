// Tokenizer on the real all-MiniLM-L6-v2 files: the public API, truncation edge cases, added tokens
// in text, and the errors for missing or bad files and invalid UTF-8. Expected ids were printed by
// tokenizers 0.23.3 (Tokenizer.from_file(...).encode) for the same texts.
#include "tokenizer/tokenizer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "io/error.h"
#include "tokenizer_testdata.h"

namespace embedtune {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::filesystem::path model_dir() {
  const char* dir = std::getenv("EMBEDTUNE_DEFAULT_MODEL");
  if (dir == nullptr || !*dir) ADD_FAILURE() << "EMBEDTUNE_DEFAULT_MODEL is not set";
  return dir ? dir : "";
}

const Tokenizer& minilm() {
  static const Tokenizer t = Tokenizer::from_folder(model_dir());
  return t;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// A fresh folder under the test temp dir.
std::filesystem::path temp_folder(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() /
             ("embedtune_tok_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

void write(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path) << text;
}

TEST(Tokenizer, ApiOnMiniLM) {
  const Tokenizer& t = minilm();
  EXPECT_EQ(t.pad_id(), 0);
  EXPECT_EQ(t.unk_id(), 100);
  EXPECT_EQ(t.cls_id(), 101);
  EXPECT_EQ(t.sep_id(), 102);
  EXPECT_EQ(t.vocab_size(), 30522u);
  EXPECT_EQ(t.id_to_token(7592), "hello");
  EXPECT_EQ(t.id_to_token(103), "[MASK]");
  EXPECT_TRUE(t.lowercase());
  EXPECT_THAT(t.encode("hello world foo bar"), ElementsAre(101, 7592, 2088, 29379, 3347, 102));
  EXPECT_THAT(t.encode("hello world foo bar", 0, false), ElementsAre(7592, 2088, 29379, 3347));
  EXPECT_THAT(t.encode(""), ElementsAre(101, 102));
}

TEST(Tokenizer, TruncationAsTokenizers) {
  const Tokenizer& t = minilm();
  const std::string text = "hello world foo bar";
  EXPECT_THAT(t.encode(text, 1), ElementsAre(101, 7592, 2088, 29379, 3347, 102));  // HF: no cut
  EXPECT_THAT(t.encode(text, 1, false), ElementsAre(7592));
  EXPECT_THAT(t.encode(text, 2), ElementsAre(101, 102));
  EXPECT_THAT(t.encode(text, 3), ElementsAre(101, 7592, 102));
  EXPECT_THAT(t.encode(text, 3, false), ElementsAre(7592, 2088, 29379));
  EXPECT_THAT(t.encode(text, 5), ElementsAre(101, 7592, 2088, 29379, 102));
}

TEST(Tokenizer, SpecialTokensInTextAreMatchedBeforeNormalisation) {
  const Tokenizer& t = minilm();
  EXPECT_THAT(t.encode("[CLS]"), ElementsAre(101, 101, 102));
  EXPECT_THAT(t.encode("a[SEP]b [cls] [MASK]x"),
              ElementsAre(101, 1037, 102, 1038, 1031, 18856, 2015, 1033, 103, 1060, 102));
}

TEST(Tokenizer, InvalidUtf8NamesTheByteOffset) {
  const std::string message = error_of([] { minilm().encode("caf\xC3 ok"); });
  EXPECT_THAT(message,
              AllOf(HasSubstr("not valid UTF-8"), HasSubstr("byte offset 3"), HasSubstr("0xC3")));
  EXPECT_THAT(error_of([] { minilm().encode("\xFF"); }), HasSubstr("byte offset 0"));
}

TEST(Tokenizer, MissingFilesNameFolderAndFiles) {
  const auto dir = temp_folder("empty");
  const std::string message = error_of([&] { Tokenizer::from_folder(dir); });
  EXPECT_THAT(message,
              AllOf(HasSubstr(dir.string()), HasSubstr("tokenizer.json"), HasSubstr("vocab.txt")));
  std::filesystem::remove_all(dir);
}

TEST(Tokenizer, MalformedJsonNamesTheFile) {
  const auto dir = temp_folder("malformed");
  write(dir / "tokenizer.json", "{\"model\": {\"type\": \"WordPiece\", ");
  EXPECT_THAT(error_of([&] { Tokenizer::from_folder(dir); }),
              HasSubstr((dir / "tokenizer.json").string()));
  std::filesystem::remove_all(dir);
}

TEST(Tokenizer, UnsupportedModelTypeNamesFileAndKey) {
  const auto dir = temp_folder("wordlevel");
  write(dir / "tokenizer.json", R"({"normalizer": null, "pre_tokenizer": null,
      "model": {"type": "WordLevel", "vocab": {}, "unk_token": "x"}})");
  EXPECT_THAT(error_of([&] { Tokenizer::from_folder(dir); }),
              AllOf(HasSubstr((dir / "tokenizer.json").string()), HasSubstr("model.type"),
                    HasSubstr("WordLevel"), HasSubstr("WordPiece, Unigram or BPE")));
  write(dir / "tokenizer.json",
        R"({"normalizer": {"type": "NMT"}, "model": {"type": "WordPiece", "vocab": {}}})");
  EXPECT_THAT(error_of([&] { Tokenizer::from_folder(dir); }),
              AllOf(HasSubstr("normalizer.type"), HasSubstr("NMT")));
  write(dir / "tokenizer.json", R"({"pre_tokenizer": {"type": "Sequence", "pretokenizers": [
      {"type": "CharDelimiterSplit", "delimiter": " "}]}, "model": {"type": "WordPiece",
      "vocab": {"[UNK]": 0}}})");
  EXPECT_THAT(
      error_of([&] { Tokenizer::from_folder(dir); }),
      AllOf(HasSubstr("pre_tokenizer.pretokenizers[0].type"), HasSubstr("CharDelimiterSplit")));
  write(dir / "tokenizer.json", R"({"model": {"type": "WordPiece", "vocab": {"a": "x"}}})");
  EXPECT_THAT(error_of([&] { Tokenizer::from_folder(dir); }), HasSubstr("model.vocab.a"));
  write(dir / "tokenizer.json", R"({"model": {"type": "WordPiece", "vocab": {"a": 0}}})");
  EXPECT_THAT(error_of([&] { Tokenizer::from_folder(dir); }), HasSubstr("[UNK]"));
  std::filesystem::remove_all(dir);
}

// Found by fuzz/fuzz_tokenizer_json (fuzz/regressions/tokenizer_json/line-break-*): text from the
// file (a component type) went into messages as it is, so a line break in it broke the one-line
// error; review found the same for vocab tokens in key paths, unk_token and config keys.
TEST(Tokenizer, BadFileMessagesStayOnOneLine) {
  const auto dir = temp_folder("one_line");
  const auto file = dir / "tokenizer.json";
  write(file, R"({"normalizer": {"type": "Bert\nNormalizer"},
                  "model": {"type": "WordPiece", "vocab": {}}})");
  std::string message = error_of([&] { Tokenizer::from_folder(dir); });
  EXPECT_THAT(message, AllOf(HasSubstr(file.string()),
                             HasSubstr(R"(key "normalizer.type" is "Bert\nNormalizer";)")));
  EXPECT_EQ(message.find('\n'), std::string::npos);
  write(file, R"({"model": {"type": "WordPiece", "vocab": {"a\nb": "x"}}})");
  message = error_of([&] { Tokenizer::from_folder(dir); });
  EXPECT_THAT(message, HasSubstr(R"(key "model.vocab.a\nb" is "x"; expected an integer)"));
  EXPECT_EQ(message.find('\n'), std::string::npos);
  std::filesystem::remove(file);
  write(dir / "vocab.txt", "[UNK]\n");
  write(dir / "tokenizer_config.json",
        R"({"added_tokens_decoder": {"1\n2": {"content": "x", "lstrip": 3}}})");
  message = error_of([&] { Tokenizer::from_folder(dir); });
  EXPECT_THAT(message, HasSubstr(R"(key "added_tokens_decoder.1\n2.lstrip" is 3; expected true)"));
  EXPECT_EQ(message.find('\n'), std::string::npos);
  std::filesystem::remove_all(dir);
}

// Found by fuzz/fuzz_bert_vocab (fuzz/regressions/bert_vocab/): vocab.txt was not checked for
// UTF-8, which transformers requires (it opens the file with encoding="utf-8").
TEST(Tokenizer, VocabTxtMustBeUtf8) {
  const auto dir = temp_folder("vocab_utf8");
  write(dir / "vocab.txt", "[UNK]\r\nok\rab\xFF\n");
  EXPECT_EQ(error_of([&] { Tokenizer::from_folder(dir); }),
            (dir / "vocab.txt").string() +
                ":3: expected UTF-8 text, found byte 0xFF; save the vocab file as UTF-8.");
  std::filesystem::remove_all(dir);
}

// fuzz/regressions/tokenizer_json/: a vocab id of 2^31 - 1 overflowed `id + 1` (undefined
// behaviour) and sized a table of 2^31 strings, and an id of 10^8 allocated 3.2 GB. Ids need not
// be dense (tokenizers accepts any u32).
TEST(Tokenizer, LargeSparseIdsTakeNoMemoryPerId) {
  const auto dir = temp_folder("sparse_ids");
  write(dir / "tokenizer.json",
        R"({"model": {"type": "WordPiece", "vocab": {"[UNK]": 2147483647, "a": 100000000}}})");
  const Tokenizer t = Tokenizer::from_folder(dir);
  EXPECT_EQ(t.vocab_size(), 2147483648u);
  EXPECT_EQ(t.id_to_token(2147483647), "[UNK]");
  EXPECT_EQ(t.id_to_token(100000000), "a");
  EXPECT_EQ(t.id_to_token(5), "");
  EXPECT_THAT(t.encode("a"), ElementsAre(100000000));
  EXPECT_THAT(t.encode("b"), ElementsAre(2147483647));
  std::filesystem::remove_all(dir);
}

// fuzz/regressions/tokenizer_json/: a BertProcessing "cls" or "sep" that is not a [token, id]
// pair made nlohmann throw type_error or out_of_range instead of an embedtune::Error.
TEST(Tokenizer, BertProcessingPairsAreChecked) {
  const auto dir = temp_folder("bert_processing");
  const auto file = dir / "tokenizer.json";
  const std::string model = R"("model": {"type": "WordPiece", "vocab": {"[UNK]": 0}})";
  write(file, "{" + model + R"(, "post_processor": {"type": "BertProcessing", "cls": "[CLS]",
                                                       "sep": ["[SEP]", 1]}})");
  EXPECT_THAT(error_of([&] { Tokenizer::from_folder(dir); }),
              AllOf(HasSubstr(file.string()),
                    HasSubstr(R"(key "post_processor.cls" is "[CLS]"; expected a list with at )"
                              R"(least 2 items)")));
  write(file, "{" + model + R"(, "post_processor": {"type": "BertProcessing", "cls": ["[CLS]", 2],
                                                       "sep": ["[SEP]"]}})");
  EXPECT_THAT(error_of([&] { Tokenizer::from_folder(dir); }),
              HasSubstr(R"(key "post_processor.sep" is ["[SEP]"]; expected a list with at least)"));
  std::filesystem::remove_all(dir);
}

// fuzz/regressions/tokenizer_json/: the message showed the bad value with dump(), which recurses
// once per nesting level, so a value nested 300,000 deep overflowed the stack.
TEST(Tokenizer, DeeplyNestedValueIsAnErrorNotAStackOverflow) {
  const auto dir = temp_folder("deep");
  write(dir / "tokenizer.json", R"({"model": {"type": "WordPiece", "vocab": )" +
                                    std::string(300'000, '[') + std::string(300'000, ']') + "}}");
  EXPECT_THAT(error_of([&] { Tokenizer::from_folder(dir); }),
              HasSubstr(R"(key "model.vocab" is [[[[[...]]]]]; expected an object {token: id})"));
  std::filesystem::remove_all(dir);
}

TEST(Tokenizer, VocabFolderWithoutConfigUsesBertDefaults) {
  const auto dir = temp_folder("vocab");
  write(dir / "vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\n##s\n,\n");
  const Tokenizer t = Tokenizer::from_folder(dir);
  EXPECT_THAT(t.encode("Hellos, [MASK]"), ElementsAre(2, 5, 6, 7, 4, 3));
  EXPECT_EQ(t.vocab_size(), 8u);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace embedtune
