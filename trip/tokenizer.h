// defines: WordTokenizer, the word-level vocabulary of the tiny preset's caption encoder: built
// from a dataset's captions, encodes captions to fixed-length int64 ids, and saves itself as JSON
// so that every checkpoint's config carries the vocabulary its embedding table was trained with.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tensor/tensor.h"

namespace trip {

// A batch of encoded captions.
struct TokenBatch {
  Tensor ids;           // i64 [B, L]
  Tensor padding_mask;  // bool [B, L], true at padding positions (PyTorch's key_padding_mask)
};

class WordTokenizer {
 public:
  // Special tokens at fixed ids, always the first three entries of the vocabulary.
  static constexpr int64_t kPad = 0;    // fills a caption up to max_length; masked out as a key
  static constexpr int64_t kUnk = 1;    // any word not in the vocabulary
  static constexpr int64_t kStart = 2;  // first token of every caption (a CLS token): even the
                                        // empty caption of classifier-free guidance has one real
                                        // position, so attention never sees only padding
  static constexpr const char* kPadWord = "<pad>";
  static constexpr const char* kUnkWord = "<unk>";
  static constexpr const char* kStartWord = "<start>";

  // Only the three special tokens: every word encodes to kUnk.
  WordTokenizer();

  // The vocabulary of `captions`: the special tokens, then every word seen at least min_count
  // times, sorted by count (descending) then alphabetically, so the same captions give the same
  // ids whatever their order. max_vocab_size > 0 caps the total size (special tokens included,
  // so it must be at least 3) by dropping the rarest words; 0 means no cap.
  static WordTokenizer build(const std::vector<std::string>& captions, int64_t max_vocab_size = 0,
                             int64_t min_count = 1);

  // Splits a caption into words: ASCII letters are lower-cased; every ASCII character that is
  // not a letter or a digit (whitespace, punctuation) separates words and is dropped
  // ("A dog's ball!" -> a, dog, s, ball). Bytes >= 0x80 (UTF-8) are kept as word characters.
  static std::vector<std::string> split_words(std::string_view caption);

  // [kStart, word ids..., kPad...] of exactly max_length ids. Captions longer than max_length - 1
  // words are truncated at the end (the start token and the first words are kept).
  std::vector<int64_t> encode(std::string_view caption, int64_t max_length) const;
  // The batch form: ids i64 [B, max_length] on the CPU and the padding mask.
  TokenBatch encode_batch(const std::vector<std::string>& captions, int64_t max_length) const;
  // The words of ids, special tokens written as <unk>, <start>; padding is skipped.
  std::string decode(const std::vector<int64_t>& ids) const;

  int64_t vocab_size() const { return static_cast<int64_t>(words_.size()); }
  int64_t id_of(const std::string& word) const;  // kUnk when absent
  const std::string& word_of(int64_t id) const;  // throws when id is out of range
  const std::vector<std::string>& words() const { return words_; }

  // {"format": "trip.word_tokenizer", "version": 1, "words": ["<pad>", "<unk>", "<start>", ...]}
  // The position of a word in "words" is its id.
  std::string to_json() const;
  // Throws trip::Error naming the problem for malformed JSON, another format or version, missing
  // or misplaced special tokens, duplicate words, or words the splitter could never produce.
  static WordTokenizer from_json(std::string_view text);

  bool operator==(const WordTokenizer& other) const { return words_ == other.words_; }

 private:
  explicit WordTokenizer(std::vector<std::string> words);
  std::vector<std::string> words_;                // id -> word
  std::unordered_map<std::string, int64_t> ids_;  // word -> id
};

}  // namespace trip
