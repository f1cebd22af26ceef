// SHA-1 / SHA-256 on OpenSSL's EVP interface.
#include "hub/digest.h"

#include <openssl/evp.h>

#include <fstream>
#include <vector>

#include "io/error.h"

namespace embedtune::hub {

struct Digest::State {
  EVP_MD_CTX* context = nullptr;
  bool finished = false;
};

Digest::Digest(DigestKind kind) : state_(std::make_unique<State>()) {
  state_->context = EVP_MD_CTX_new();
  const EVP_MD* md = kind == DigestKind::kSha1 ? EVP_sha1() : EVP_sha256();
  if (state_->context == nullptr || EVP_DigestInit_ex(state_->context, md, nullptr) != 1) {
    EVP_MD_CTX_free(state_->context);
    fail("hub: OpenSSL could not start a hash (out of memory?)");
  }
}

Digest::~Digest() { EVP_MD_CTX_free(state_->context); }

void Digest::update(std::string_view bytes) {
  if (state_->finished) fail("hub: a digest was updated after hex() (internal error)");
  EVP_DigestUpdate(state_->context, bytes.data(), bytes.size());
}

std::string Digest::hex() {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(state_->context, out, &length);
  state_->finished = true;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string text;
  for (unsigned int i = 0; i < length; ++i) {
    text += kHex[out[i] >> 4];
    text += kHex[out[i] & 15];
  }
  return text;
}

std::string sha256_hex(std::string_view bytes) {
  Digest digest(DigestKind::kSha256);
  digest.update(bytes);
  return digest.hex();
}

FileDigests file_digests(const std::filesystem::path& path, bool with_git_sha1) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  std::ifstream in(path, std::ios::binary);
  if (ec || !in) fail("{}: cannot be read; check that it exists and is readable", path.string());
  Digest sha256(DigestKind::kSha256), sha1(DigestKind::kSha1);
  sha1.update("blob " + std::to_string(size) + std::string(1, '\0'));
  std::vector<char> buffer(1 << 20);
  uint64_t total = 0;
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    const std::string_view chunk(buffer.data(), static_cast<size_t>(in.gcount()));
    sha256.update(chunk);
    if (with_git_sha1) sha1.update(chunk);
    total += chunk.size();
  }
  if (in.bad() || total != size) {
    fail("{}: read {} of {} bytes; the file changed or the disk failed while it was hashed",
         path.string(), total, size);
  }
  return {sha256.hex(), with_git_sha1 ? sha1.hex() : std::string(), total};
}

}  // namespace embedtune::hub
