#include "trip/tokenizer.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <utility>

#include "tensor/error.h"

namespace trip {

namespace {

using json = nlohmann::json;

constexpr const char* kFormat = "trip.word_tokenizer";
constexpr int kVersion = 1;

// Lower-case ASCII letters and digits, and every UTF-8 byte, are word characters; the rest of
// ASCII (whitespace, punctuation, control characters) separates words.
bool is_word_byte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

char to_lower_ascii(unsigned char c) {
  return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
}

// A word split_words can produce: non-empty, word bytes only, no upper-case ASCII.
bool is_valid_word(const std::string& w) {
  if (w.empty()) return false;
  for (unsigned char c : w)
    if (!is_word_byte(c) || (c >= 'A' && c <= 'Z')) return false;
  return true;
}

}  // namespace

WordTokenizer::WordTokenizer() : WordTokenizer(std::vector<std::string>{}) {}

WordTokenizer::WordTokenizer(std::vector<std::string> words) {
  words_ = {kPadWord, kUnkWord, kStartWord};
  words_.insert(words_.end(), std::make_move_iterator(words.begin()),
                std::make_move_iterator(words.end()));
  for (size_t i = 0; i < words_.size(); ++i) {
    bool inserted = ids_.emplace(words_[i], static_cast<int64_t>(i)).second;
    TRIP_CHECK(inserted, "WordTokenizer: word '{}' appears twice in the vocabulary (ids {} and {})",
               words_[i], ids_.at(words_[i]), i);
  }
}

std::vector<std::string> WordTokenizer::split_words(std::string_view caption) {
  std::vector<std::string> out;
  std::string word;
  for (unsigned char c : caption) {
    if (is_word_byte(c)) {
      word.push_back(to_lower_ascii(c));
    } else if (!word.empty()) {
      out.push_back(std::move(word));
      word.clear();
    }
  }
  if (!word.empty()) out.push_back(std::move(word));
  return out;
}

WordTokenizer WordTokenizer::build(const std::vector<std::string>& captions, int64_t max_vocab_size,
                                   int64_t min_count) {
  TRIP_CHECK(max_vocab_size == 0 || max_vocab_size >= 3,
             "WordTokenizer::build: max_vocab_size must be 0 (no cap) or >= 3 (the special "
             "tokens), got {}",
             max_vocab_size);
  TRIP_CHECK(min_count >= 1, "WordTokenizer::build: min_count must be >= 1, got {}", min_count);
  std::map<std::string, int64_t> counts;  // ordered: ties below break alphabetically
  for (const auto& caption : captions)
    for (auto& w : split_words(caption)) ++counts[w];
  std::vector<std::pair<std::string, int64_t>> ranked;
  for (auto& [w, n] : counts)
    if (n >= min_count) ranked.emplace_back(w, n);
  // Stable sort over the alphabetical order: count descending, then alphabetical.
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  size_t keep = ranked.size();
  if (max_vocab_size > 0) keep = std::min(keep, static_cast<size_t>(max_vocab_size - 3));
  std::vector<std::string> words;
  words.reserve(keep);
  for (size_t i = 0; i < keep; ++i) {
    // A caption may literally contain "<pad>"; the splitter turns it into "pad", so special
    // token spellings never collide with words.
    words.push_back(std::move(ranked[i].first));
  }
  return WordTokenizer(std::move(words));
}

int64_t WordTokenizer::id_of(const std::string& word) const {
  auto it = ids_.find(word);
  return it == ids_.end() ? kUnk : it->second;
}

const std::string& WordTokenizer::word_of(int64_t id) const {
  TRIP_CHECK(id >= 0 && id < vocab_size(), "WordTokenizer: id {} out of range [0, {})", id,
             vocab_size());
  return words_[static_cast<size_t>(id)];
}

std::vector<int64_t> WordTokenizer::encode(std::string_view caption, int64_t max_length) const {
  TRIP_CHECK(max_length >= 1,
             "WordTokenizer::encode: max_length must be >= 1 (room for the start token), got {}",
             max_length);
  std::vector<int64_t> ids(static_cast<size_t>(max_length), kPad);
  ids[0] = kStart;
  size_t pos = 1;
  for (const auto& w : split_words(caption)) {
    if (pos == ids.size()) break;  // truncate: the tail of a long caption is dropped
    ids[pos++] = id_of(w);
  }
  return ids;
}

TokenBatch WordTokenizer::encode_batch(const std::vector<std::string>& captions,
                                       int64_t max_length) const {
  const auto b = static_cast<int64_t>(captions.size());
  std::vector<int64_t> ids;
  ids.reserve(captions.size() * static_cast<size_t>(std::max<int64_t>(max_length, 0)));
  for (const auto& caption : captions) {
    auto row = encode(caption, max_length);
    ids.insert(ids.end(), row.begin(), row.end());
  }
  std::vector<uint8_t> pad(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) pad[i] = ids[i] == kPad;
  TokenBatch out;
  out.ids = from_vector<int64_t>(ids, {b, max_length}, DType::i64);
  out.padding_mask = from_vector<uint8_t>(pad, {b, max_length}, DType::boolean);
  return out;
}

std::string WordTokenizer::decode(const std::vector<int64_t>& ids) const {
  std::string out;
  for (int64_t id : ids) {
    if (id == kPad) continue;
    if (!out.empty()) out += ' ';
    out += word_of(id);
  }
  return out;
}

std::string WordTokenizer::to_json() const {
  json j;
  j["format"] = kFormat;
  j["version"] = kVersion;
  j["words"] = words_;
  return j.dump();
}

WordTokenizer WordTokenizer::from_json(std::string_view text) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    fail("WordTokenizer::from_json: not valid JSON ({})", e.what());
  }
  TRIP_CHECK(j.is_object(), "WordTokenizer::from_json: expected a JSON object, got {}",
             j.type_name());
  auto field = [&](const char* name) -> const json& {
    auto it = j.find(name);
    TRIP_CHECK(it != j.end(), "WordTokenizer::from_json: missing field '{}'", name);
    return *it;
  };
  const json& format = field("format");
  TRIP_CHECK(format.is_string() && format.get<std::string>() == kFormat,
             "WordTokenizer::from_json: field 'format' must be \"{}\", got {}", kFormat,
             format.dump());
  const json& version = field("version");
  TRIP_CHECK(version.is_number_integer() && version.get<int64_t>() == kVersion,
             "WordTokenizer::from_json: unsupported version {} (this build reads {})",
             version.dump(), kVersion);
  const json& list = field("words");
  TRIP_CHECK(list.is_array(), "WordTokenizer::from_json: 'words' must be an array, got {}",
             list.type_name());
  TRIP_CHECK(list.size() >= 3,
             "WordTokenizer::from_json: 'words' has {} entries, fewer than the 3 special tokens",
             list.size());
  const char* special[] = {kPadWord, kUnkWord, kStartWord};
  std::vector<std::string> words;
  for (size_t i = 0; i < list.size(); ++i) {
    TRIP_CHECK(list[i].is_string(), "WordTokenizer::from_json: words[{}] is not a string: {}", i,
               list[i].dump());
    auto w = list[i].get<std::string>();
    if (i < 3) {
      TRIP_CHECK(w == special[i], "WordTokenizer::from_json: words[{}] must be '{}', got '{}'", i,
                 special[i], w);
      continue;
    }
    TRIP_CHECK(is_valid_word(w),
               "WordTokenizer::from_json: words[{}] = '{}' is not a word the tokenizer can "
               "produce (lower-case letters, digits, UTF-8 bytes)",
               i, w);
    words.push_back(std::move(w));
  }
  return WordTokenizer(std::move(words));  // throws on duplicates
}

}  // namespace trip
