// The tiny preset's caption path: WordTokenizer (splitting, deterministic vocabulary, special
// tokens, padding/truncation, JSON round trip and corrupt-JSON errors) and CaptionEncoder
// (parameter names, shapes, padding invariance, float64 gradchecks, gradients reach every
// parameter, bad input).
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "autograd/functions.h"
#include "autograd/gradcheck.h"
#include "tensor/error.h"
#include "trip/caption_encoder.h"
#include "trip/tokenizer.h"

using namespace trip;

namespace {

// Runs fn, which must throw trip::Error with a message containing `part`.
void check_error(const std::function<void()>& fn, const std::string& part) {
  std::string message;
  try {
    fn();
  } catch (const Error& e) {
    message = e.what();
  }
  INFO("expected an error containing '" << part << "', got '" << message << "'");
  CHECK(message.find(part) != std::string::npos);
}

const std::vector<std::string> kCaptions = {"The cat.", "the DOG runs!", "a cat and the dog",
                                            "zebra"};

double max_abs_diff(const Tensor& a, const Tensor& b) {
  return amax(abs(to(a, DType::f64) - to(b, DType::f64))).item();
}

bool all_finite(const Tensor& t) {
  for (double v : t.to_vector<double>())
    if (!std::isfinite(v)) return false;
  return true;
}

CaptionEncoderConfig micro_config() {
  CaptionEncoderConfig c;
  c.vocab_size = 6;
  c.max_length = 4;
  c.width = 4;
  c.layers = 1;
  c.heads = 2;
  return c;
}

}  // namespace

// ---------------------------------------------------------------- WordTokenizer

TEST_CASE("split_words lower-cases and drops whitespace and punctuation") {
  using V = std::vector<std::string>;
  CHECK(WordTokenizer::split_words("A Dog's BALL!  runs,fast...\tnow\n") ==
        V{"a", "dog", "s", "ball", "runs", "fast", "now"});
  CHECK(WordTokenizer::split_words("<pad> x-2 3D") == V{"pad", "x", "2", "3d"});
  CHECK(WordTokenizer::split_words("caf\xc3\xa9 ok") == V{"caf\xc3\xa9", "ok"});  // UTF-8 kept
  CHECK(WordTokenizer::split_words("").empty());
  CHECK(WordTokenizer::split_words(" ?! ").empty());
}

TEST_CASE("the vocabulary is sorted by count then alphabetically, independent of caption order") {
  // Counts: the 3, cat 2, dog 2, a 1, and 1, runs 1, zebra 1.
  WordTokenizer tok = WordTokenizer::build(kCaptions);
  CHECK(tok.words() == std::vector<std::string>{"<pad>", "<unk>", "<start>", "the", "cat", "dog",
                                                "a", "and", "runs", "zebra"});
  std::vector<std::string> reversed(kCaptions.rbegin(), kCaptions.rend());
  CHECK(WordTokenizer::build(reversed) == tok);
  CHECK(WordTokenizer::build(kCaptions, 5).words() ==
        std::vector<std::string>{"<pad>", "<unk>", "<start>", "the", "cat"});
  CHECK(WordTokenizer::build(kCaptions, 0, 2).words() ==
        std::vector<std::string>{"<pad>", "<unk>", "<start>", "the", "cat", "dog"});
  CHECK(WordTokenizer::build({}).vocab_size() == 3);
  CHECK(WordTokenizer::build({"<pad> <unk>"}).words().back() == "unk");  // no clash with specials
  check_error([] { WordTokenizer::build(kCaptions, 2); }, "max_vocab_size");
  check_error([] { WordTokenizer::build(kCaptions, 0, 0); }, "min_count");
}

TEST_CASE("encode: start token, unknown words, padding and truncation") {
  WordTokenizer tok = WordTokenizer::build(kCaptions);
  using V = std::vector<int64_t>;
  // the = 3, cat = 4, dog = 5; "sat" is unknown.
  CHECK(tok.encode("The cat SAT, dog!", 7) == V{2, 3, 4, 1, 5, 0, 0});
  CHECK(tok.encode("the cat sat dog", 3) == V{2, 3, 4});  // the tail is dropped
  CHECK(tok.encode("the cat", 1) == V{2});
  CHECK(tok.encode("", 4) == V{2, 0, 0, 0});  // classifier-free guidance's empty caption
  CHECK(tok.encode("...", 4) == V{2, 0, 0, 0});
  CHECK(tok.id_of("zebra") == 9);
  CHECK(tok.id_of("giraffe") == WordTokenizer::kUnk);
  CHECK(tok.decode(tok.encode("the giraffe", 5)) == "<start> the <unk>");
  check_error([&] { tok.encode("x", 0); }, "max_length");
  check_error([&] { tok.word_of(10); }, "out of range");

  TokenBatch batch = tok.encode_batch({"the cat", "", "a dog runs and the zebra"}, 5);
  CHECK(batch.ids.dtype() == DType::i64);
  CHECK(batch.ids.shape() == Dims{3, 5});
  CHECK(batch.ids.to_vector<int64_t>() == V{2, 3, 4, 0, 0, 2, 0, 0, 0, 0, 2, 6, 5, 8, 7});
  CHECK(batch.padding_mask.dtype() == DType::boolean);
  CHECK(batch.padding_mask.to_vector<int64_t>() == V{0, 0, 0, 1, 1, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0});
}

TEST_CASE("tokenizer JSON: round trip and clear errors for corrupt input") {
  WordTokenizer tok = WordTokenizer::build(kCaptions, 0, 1);
  std::string json = tok.to_json();
  WordTokenizer back = WordTokenizer::from_json(json);
  CHECK(back == tok);
  CHECK(back.encode("a zebra and a cat", 8) == tok.encode("a zebra and a cat", 8));
  CHECK(back.to_json() == json);

  auto bad = [](const std::string& text, const std::string& part) {
    check_error([&] { WordTokenizer::from_json(text); }, part);
  };
  const std::string head = R"({"format": "trip.word_tokenizer", "version": 1, "words": )";
  bad(json.substr(0, json.size() / 2), "not valid JSON");
  bad("", "not valid JSON");
  bad("[1, 2]", "expected a JSON object");
  bad(R"({"format": "trip.word_tokenizer", "version": 1})", "missing field 'words'");
  bad(R"({"version": 1, "words": []})", "missing field 'format'");
  bad(R"({"format": "bpe", "version": 1, "words": []})", "field 'format'");
  bad(R"({"format": "trip.word_tokenizer", "version": 7, "words": []})", "unsupported version 7");
  bad(head + R"("cat"})", "'words' must be an array");
  bad(head + R"(["<pad>", "<unk>"]})", "fewer than the 3 special tokens");
  bad(head + R"(["<unk>", "<pad>", "<start>"]})", "words[0] must be '<pad>'");
  bad(head + R"(["<pad>", "<unk>", "<start>", "cat", "cat"]})", "appears twice");
  bad(head + R"(["<pad>", "<unk>", "<start>", 5]})", "words[3] is not a string");
  bad(head + R"(["<pad>", "<unk>", "<start>", "Cat"]})", "words[3] = 'Cat'");
  bad(head + R"(["<pad>", "<unk>", "<start>", "a b"]})", "words[3] = 'a b'");
  bad(head + R"(["<pad>", "<unk>", "<start>", ""]})", "words[3] = ''");
  bad(head + R"(["<pad>", "<unk>", "<start>", "<pad>"]})", "words[3] = '<pad>'");
}

// ---------------------------------------------------------------- CaptionEncoder

TEST_CASE("CaptionEncoder: diffusers-style parameter names and output shape") {
  CaptionEncoderConfig config;
  config.vocab_size = 10;
  CaptionEncoder enc(config);
  std::vector<std::string> expected{"token_embedding.weight", "position_embedding.weight"};
  for (std::string p : {"layers.0.", "layers.1."})
    for (std::string leaf :
         {"norm1.weight", "norm1.bias", "attn.to_q.weight", "attn.to_k.weight", "attn.to_v.weight",
          "attn.to_out.0.weight", "attn.to_out.0.bias", "norm2.weight", "norm2.bias",
          "ff.net.0.proj.weight", "ff.net.0.proj.bias", "ff.net.2.weight", "ff.net.2.bias"})
      expected.push_back(p + leaf);
  expected.push_back("final_norm.weight");
  expected.push_back("final_norm.bias");
  std::vector<std::string> names;
  for (const auto& [name, t] : enc.named_parameters()) names.push_back(name);
  CHECK(names == expected);
  CHECK(enc.position_embedding->weight.shape() == Dims{16, 64});
  CHECK(enc.layers->at<CaptionEncoderLayer>(0)->attn->heads == 4);

  WordTokenizer tok = WordTokenizer::build(kCaptions);
  TokenBatch batch = tok.encode_batch({"the cat", "", "a dog runs and the zebra the cat"}, 16);
  Tensor out = enc.forward(batch.ids);
  CHECK(out.shape() == Dims{3, 16, 64});
  CHECK(out.dtype() == DType::f32);
  CHECK(all_finite(out));  // padded query positions included
  // i32 ids give the same result.
  CHECK(max_abs_diff(enc.forward(to(batch.ids, DType::i32)), out) == 0.0);
  // Shorter L, same tokens: padding is invisible to the real positions.
  Tensor short_out = enc.forward(slice(batch.ids, 1, 0, 9));
  CHECK(max_abs_diff(slice(short_out, 1, 0, 9), slice(out, 1, 0, 9)) < 1e-5);
}

TEST_CASE("CaptionEncoder: ids at padded positions do not change outputs at real positions") {
  CaptionEncoderConfig config;
  config.vocab_size = 12;
  config.max_length = 6;
  config.width = 8;
  config.heads = 2;
  CaptionEncoder enc(config);
  enc.to(DType::f64);
  using V = std::vector<int64_t>;
  Tensor ids = from_vector<int64_t>(V{2, 5, 7, 0, 0, 0, 2, 3, 4, 5, 6, 0}, {2, 6}, DType::i64);
  Tensor mask = eq(ids, 0.0);
  Tensor other = from_vector<int64_t>(V{2, 5, 7, 9, 1, 11, 2, 3, 4, 5, 6, 8}, {2, 6}, DType::i64);
  Tensor a = enc.forward(ids);
  Tensor b = enc.forward(other, mask);
  CHECK(max_abs_diff(enc.forward(ids, mask), a) == 0.0);
  CHECK(max_abs_diff(select(slice(a, 1, 0, 3), 0, 0), select(slice(b, 1, 0, 3), 0, 0)) < 1e-12);
  CHECK(max_abs_diff(select(slice(a, 1, 0, 5), 0, 1), select(slice(b, 1, 0, 5), 0, 1)) < 1e-12);
  // The test can fail: without the mask, those ids are attended to and do change the outputs.
  Tensor unmasked = ops::zeros({2, 6}, DType::boolean);
  Tensor c = enc.forward(ids, unmasked), d = enc.forward(other, unmasked);
  CHECK(max_abs_diff(select(slice(c, 1, 0, 3), 0, 0), select(slice(d, 1, 0, 3), 0, 0)) > 1e-6);
  // A row that is all padding (only possible with a hand-made mask) is still finite.
  CHECK(all_finite(enc.forward(ids, ops::ones({2, 6}, DType::boolean))));
}

TEST_CASE("CaptionEncoder: float64 gradcheck of a micro encoder") {
  CaptionEncoder enc(micro_config());
  enc.to(DType::f64);
  auto layer = enc.layers->at<CaptionEncoderLayer>(0);
  const Tensor ids = from_vector<int64_t>({2, 3, 5, 0, 2, 4, 1, 3}, {2, 4}, DType::i64);
  std::vector<Tensor> inputs;
  for (const Tensor& p : {enc.token_embedding->weight, enc.position_embedding->weight,
                          layer->attn->to_k->weight, enc.final_norm->weight})
    inputs.push_back(ops::clone(p).set_requires_grad(true));
  // Swapping the layers' handles lets gradcheck perturb the parameters.
  GradcheckResult r = gradcheck(
      [&](const std::vector<Tensor>& in) {
        enc.token_embedding->weight = in[0];
        enc.position_embedding->weight = in[1];
        layer->attn->to_k->weight = in[2];
        enc.final_norm->weight = in[3];
        return enc.forward(ids);
      },
      inputs);
  INFO(r.message);
  CHECK(r.ok);
}

TEST_CASE("CaptionEncoder: every parameter gets a gradient") {
  CaptionEncoderConfig config;
  config.vocab_size = 10;
  CaptionEncoder enc(config);
  WordTokenizer tok = WordTokenizer::build(kCaptions);
  TokenBatch batch = tok.encode_batch({"the cat runs", "", "a zebra"}, 8);
  ops::Generator gen{3, 0};
  Tensor out = enc.forward(batch.ids);
  sum(out * randn(out.shape(), DType::f32, &gen)).backward();
  for (const auto& [name, p] : enc.named_parameters()) {
    INFO(name);
    REQUIRE(p.grad().defined());
    CHECK(sum(abs(p.grad())).item() > 0.0);
  }
}

TEST_CASE("CaptionEncoder: bad input and config give clear errors") {
  CaptionEncoder enc(micro_config());
  using V = std::vector<int64_t>;
  Tensor ok = from_vector<int64_t>(V{2, 3, 0}, {1, 3}, DType::i64);
  check_error(
      [&] {
        enc.forward(from_vector<int64_t>(V{2, 6, 0}, {1, 3}, DType::i64));
      },
      "values from 0 to 6");
  check_error(
      [&] {
        enc.forward(from_vector<int64_t>(V{2, -1, 0}, {1, 3}, DType::i64));
      },
      "values from -1 to 2");
  check_error([&] { enc.forward(from_vector<int64_t>(V{2, 3, 0}, {3}, DType::i64)); }, "[B, L]");
  check_error(
      [&] {
        enc.forward(from_vector<int64_t>(V{2, 3, 0}, {1, 1, 3}, DType::i64));
      },
      "[B, L]");
  check_error([&] { enc.forward(ops::full({1, 5}, 2, DType::i64)); }, "max_length = 4");
  check_error([&] { enc.forward(ops::full({1, 2}, 2, DType::f32)); }, "i32/i64");
  check_error([&] { enc.forward(ok, ops::zeros({1, 2}, DType::boolean)); }, "padding_mask");
  check_error([&] { enc.forward(ok, ops::zeros({1, 3}, DType::f32)); }, "padding_mask");
  CaptionEncoderConfig c = micro_config();
  c.heads = 3;
  check_error([&] { CaptionEncoder e(c); }, "not divisible by heads 3");
  c = micro_config();
  c.vocab_size = 2;
  check_error([&] { CaptionEncoder e(c); }, "vocab_size must be >= 3");
}
