#include "cloister/engine/session.h"
#include "model_builder.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

namespace cloister::engine {
namespace {

using test::Attr;
using test::ModelBuilder;
using test::random_tensor;

std::span<const std::byte> as_bytes(const std::string& text) { return std::as_bytes(std::span(text.data(), text.size())); }

Result<std::unique_ptr<Session>> load(const ModelBuilder& builder, SessionOptions options = {}) {
  auto bytes = builder.bytes();
  return Session::load(as_bytes(bytes), options);
}

void expect_close(const Tensor& actual, const Tensor& expected, float tolerance = 1e-4f) {
  ASSERT_EQ(actual.shape(), expected.shape());
  auto a = actual.values<float>();
  auto b = expected.values<float>();
  for (std::size_t i = 0; i < a.size(); ++i) {
    ASSERT_NEAR(a[i], b[i], tolerance * (1 + std::abs(b[i]))) << "element " << i;
  }
}

// conv(3x3, pad 1) + bias → BatchNormalization → Relu → conv → Add(residual: first Relu) → Relu.
ModelBuilder residual_block(std::vector<std::int64_t> input_shape) {
  ModelBuilder model;
  const std::int64_t c = 8;
  model.input("x", input_shape).output("y", {-1, 8, -1, -1});
  model.initializer("w1", random_tensor({c, input_shape[1], 3, 3}, 1)).initializer("b1", random_tensor({c}, 2));
  model.initializer("scale", random_tensor({c}, 3)).initializer("shift", random_tensor({c}, 4));
  model.initializer("mean", random_tensor({c}, 5));
  auto variance = random_tensor({c}, 6);
  for (auto& v : std::span(variance.data<float>(), c)) v = std::abs(v) + 0.5f;
  model.initializer("var", variance);
  model.initializer("w2", random_tensor({c, c, 3, 3}, 7));
  model.node("Conv", {"x", "w1", "b1"}, {"c1"}, {Attr::integers("pads", {1, 1, 1, 1})}, "conv1");
  model.node("BatchNormalization", {"c1", "scale", "shift", "mean", "var"}, {"bn1"}, {}, "bn1");
  model.node("Relu", {"bn1"}, {"r1"}, {}, "relu1");
  model.node("Conv", {"r1", "w2"}, {"c2"}, {Attr::integers("pads", {1, 1, 1, 1})}, "conv2");
  model.node("Add", {"c2", "r1"}, {"sum"}, {}, "add");
  model.node("Relu", {"sum"}, {"y"}, {}, "relu2");
  return model;
}

TEST(SessionLoad, RefusesBytesThatAreNotAModel) {
  auto session = Session::load(as_bytes("definitely not protobuf \xff\xff\xff"));
  ASSERT_FALSE(session);
  EXPECT_EQ(session.error().code, ErrorCode::engine_model_invalid);
  EXPECT_FALSE(Session::load(std::span<const std::byte>()));
}

TEST(SessionLoad, EveryTruncationOfAModelFailsCleanly) {
  auto bytes = residual_block({1, 3, 8, 8}).bytes();
  for (std::size_t n = 0; n < bytes.size(); n += 7) {
    auto session = Session::load(as_bytes(bytes.substr(0, n)));
    EXPECT_FALSE(session) << n;
  }
}

TEST(SessionLoad, NamesTheUnsupportedOperatorAndItsNode) {
  ModelBuilder model;
  model.input("x", {2}).output("y", {2});
  model.node("Relu", {"x"}, {"r"}, {}, "first");
  model.node("Gelu2000", {"r"}, {"y"}, {}, "mystery");
  model.model().mutable_graph()->mutable_node(1)->set_domain("com.example");
  auto* import = model.model().add_opset_import();
  import->set_domain("com.example");
  import->set_version(1);
  auto session = load(model);
  ASSERT_FALSE(session);
  EXPECT_EQ(session.error().code, ErrorCode::engine_unsupported_operator);
  EXPECT_NE(session.error().detail.find("node 'mystery' (com.example:Gelu2000)"), std::string::npos) << session.error().detail;
  EXPECT_NE(session.error().detail.find("unsupported operator com.example:Gelu2000"), std::string::npos);
}

TEST(SessionLoad, NamesTheNodeWhoseShapesAreInvalid) {
  ModelBuilder model;
  model.input("x", {2, 3}).output("y", {-1, -1});
  model.initializer("shape", Tensor::from_values<std::int64_t>({2}, {4, 4}));
  model.node("Reshape", {"x", "shape"}, {"y"}, {}, "flatten_me");
  auto session = load(model);
  ASSERT_FALSE(session);
  EXPECT_EQ(session.error().code, ErrorCode::engine_node_invalid);
  EXPECT_NE(session.error().detail.find("node 'flatten_me' (Reshape)"), std::string::npos) << session.error().detail;
}

TEST(SessionLoad, RefusesExternalDataAndHugeTensors) {
  ModelBuilder model;
  model.input("x", {2}).output("y", {2});
  model.initializer("w", Tensor::from_values<float>({2}, {1, 2}));
  auto* initializer = model.model().mutable_graph()->mutable_initializer(0);
  initializer->clear_raw_data();
  initializer->set_data_location(onnx::TensorProto::EXTERNAL);
  auto* entry = initializer->add_external_data();
  entry->set_key("location");
  entry->set_value("/etc/passwd");
  model.node("Add", {"x", "w"}, {"y"});
  auto session = load(model);
  ASSERT_FALSE(session);
  EXPECT_EQ(session.error().code, ErrorCode::engine_model_invalid);
  EXPECT_NE(session.error().detail.find("external"), std::string::npos);

  ModelBuilder huge;
  huge.input("x", {1}).output("y", {-1, -1});
  huge.initializer("shape", Tensor::from_values<std::int64_t>({2}, {1 << 20, 1 << 20}));
  huge.node("ConstantOfShape", {"shape"}, {"big"});
  huge.node("Add", {"big", "x"}, {"y"});
  auto refused = load(huge);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::engine_limit_exceeded);
  EXPECT_NE(refused.error().detail.find("ConstantOfShape"), std::string::npos) << refused.error().detail;
}

TEST(SessionRun, ValidatesInputs) {
  ModelBuilder model;
  model.input("x", {2, 3}).output("y", {2, 3});
  model.node("Relu", {"x"}, {"y"});
  auto session = load(model);
  ASSERT_TRUE(session) << session.error().to_string();
  EXPECT_EQ((*session)->inputs().at(0).shape, (Shape{2, 3}));
  EXPECT_EQ((*session)->outputs().at(0).shape, (Shape{2, 3}));
  auto good = random_tensor({2, 3}, 1);
  EXPECT_EQ((*session)->run({}).error().code, ErrorCode::engine_input_invalid);
  EXPECT_EQ((*session)->run({{"z", good}}).error().code, ErrorCode::engine_input_invalid);
  EXPECT_EQ((*session)->run({{"x", good}, {"x", good}}).error().code, ErrorCode::engine_input_invalid);
  EXPECT_EQ((*session)->run({{"x", random_tensor({3, 2}, 1)}}).error().code, ErrorCode::engine_input_invalid);
  EXPECT_EQ((*session)->run({{"x", Tensor(DataType::float64, {2, 3})}}).error().code, ErrorCode::engine_input_invalid);
  auto outputs = (*session)->run({{"x", good}});
  ASSERT_TRUE(outputs) << outputs.error().to_string();
  ASSERT_EQ(outputs->size(), 1u);
  EXPECT_EQ((*outputs)[0].name, "y");
  for (std::size_t i = 0; i < 6; ++i) EXPECT_EQ((*outputs)[0].tensor.values<float>()[i], std::max(0.0f, good.values<float>()[i]));
}

TEST(SessionRun, OptimisedGraphMatchesThePlainOne) {
  auto model = residual_block({2, 3, 10, 12});
  auto optimised = load(model);
  ASSERT_TRUE(optimised) << optimised.error().to_string();
  auto plain = load(model, SessionOptions{.optimize = false});
  ASSERT_TRUE(plain) << plain.error().to_string();
  auto x = random_tensor({2, 3, 10, 12}, 42);
  auto a = (*optimised)->run({{"x", x}});
  auto b = (*plain)->run({{"x", x}});
  ASSERT_TRUE(a && b);
  expect_close((*a)[0].tensor, (*b)[0].tensor);
  // conv1+bn1+relu1, conv2+add+relu2, and the reorder of the blocked result to the plain output.
  EXPECT_EQ((*optimised)->stats().fused_nodes, 4u);
  EXPECT_EQ((*optimised)->stats().steps, 3u);
  EXPECT_EQ((*plain)->stats().steps, 6u);
}

TEST(SessionRun, InPlaceResidualSumKeepsAResidualThatIsReadLater) {
  // r1 feeds conv2, the residual Add and, after it, a Mul: the fused sum must not overwrite it.
  auto model = residual_block({1, 3, 9, 9});
  model.model().mutable_graph()->mutable_output(0)->set_name("y0");
  model.model().mutable_graph()->mutable_node(5)->set_output(0, "y0");
  model.initializer("two", Tensor::from_values<float>({1}, {2.0f}));
  model.node("Mul", {"r1", "two"}, {"later"});
  model.node("Add", {"y0", "later"}, {"y"});
  auto* output = model.model().mutable_graph()->add_output();
  *output = model.model().graph().output(0);
  output->set_name("y");
  auto optimised = load(model);
  ASSERT_TRUE(optimised) << optimised.error().to_string();
  auto plain = load(model, SessionOptions{.optimize = false});
  ASSERT_TRUE(plain) << plain.error().to_string();
  auto x = random_tensor({1, 3, 9, 9}, 8);
  auto a = (*optimised)->run({{"x", x}});
  auto b = (*plain)->run({{"x", x}});
  ASSERT_TRUE(a && b);
  expect_close((*a)[0].tensor, (*b)[0].tensor);
  expect_close((*a)[1].tensor, (*b)[1].tensor);
}

TEST(SessionRun, SwishAndClipFuseIntoConvolutions) {
  ModelBuilder model;
  model.input("x", {1, 4, 7, 7}).output("y", {1, 4, 7, 7});
  model.initializer("w1", random_tensor({4, 4, 3, 3}, 21)).initializer("w2", random_tensor({4, 1, 3, 3}, 22));
  model.initializer("low", Tensor::scalar<float>(0.0f)).initializer("high", Tensor::scalar<float>(6.0f));
  model.node("Conv", {"x", "w1"}, {"c1"}, {Attr::integers("pads", {1, 1, 1, 1})});
  model.node("Sigmoid", {"c1"}, {"s1"});
  model.node("Mul", {"c1", "s1"}, {"silu"});
  model.node("Conv", {"silu", "w2"}, {"c2"}, {Attr::integers("pads", {1, 1, 1, 1}), Attr::integer("group", 4)});
  model.node("Clip", {"c2", "low", "high"}, {"y"});
  auto optimised = load(model);
  ASSERT_TRUE(optimised) << optimised.error().to_string();
  auto plain = load(model, SessionOptions{.optimize = false});
  ASSERT_TRUE(plain) << plain.error().to_string();
  auto x = random_tensor({1, 4, 7, 7}, 4);
  auto a = (*optimised)->run({{"x", x}});
  auto b = (*plain)->run({{"x", x}});
  ASSERT_TRUE(a && b);
  expect_close((*a)[0].tensor, (*b)[0].tensor);
  EXPECT_EQ((*optimised)->stats().fused_nodes, 3u);  // Sigmoid, Mul, Clip
}

TEST(SessionRun, DynamicBatchMatchesSingleSamples) {
  auto model = residual_block({-1, 3, 8, 8});
  auto session = load(model);
  ASSERT_TRUE(session) << session.error().to_string();
  EXPECT_EQ((*session)->inputs().at(0).shape, (Shape{-1, 3, 8, 8}));
  auto batch = random_tensor({3, 3, 8, 8}, 9);
  auto together = (*session)->run({{"x", batch}});
  ASSERT_TRUE(together) << together.error().to_string();
  EXPECT_EQ((*together)[0].tensor.shape(), (Shape{3, 8, 8, 8}));
  const std::size_t in_sample = 3 * 8 * 8, out_sample = 8 * 8 * 8;
  for (std::size_t n = 0; n < 3; ++n) {
    auto single = Tensor::from_values<float>({1, 3, 8, 8}, batch.values<float>().subspan(n * in_sample, in_sample));
    auto alone = (*session)->run({{"x", single}});
    ASSERT_TRUE(alone) << alone.error().to_string();
    auto expected = Tensor::from_values<float>({1, 8, 8, 8}, (*together)[0].tensor.values<float>().subspan(n * out_sample, out_sample));
    expect_close((*alone)[0].tensor, expected);
  }
}

TEST(SessionRun, ConcurrentRequestsOnOneSessionAgree) {
  auto session = load(residual_block({1, 3, 16, 16}), SessionOptions{.threads = 1});
  ASSERT_TRUE(session) << session.error().to_string();
  auto x = random_tensor({1, 3, 16, 16}, 5);
  auto reference = (*session)->run({{"x", x}});
  ASSERT_TRUE(reference);
  std::atomic<int> mismatches = 0, failures = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      auto input = t % 2 ? x : random_tensor({1, 3, 16, 16}, 100 + t);
      for (int i = 0; i < 15; ++i) {
        auto result = (*session)->run({{"x", t % 2 ? x : input}});
        if (!result) {
          ++failures;
          continue;
        }
        if (t % 2 && std::memcmp(result->at(0).tensor.bytes(), reference->at(0).tensor.bytes(), reference->at(0).tensor.byte_size()) != 0) {
          ++mismatches;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(mismatches, 0);
}

TEST(SessionRun, SpecialisesOnSmallShapeInputs) {
  ModelBuilder model;
  model.input("x", {2, 6}).input("shape", {2}, onnx::TensorProto::INT64).output("y", {-1, -1});
  model.node("Reshape", {"x", "shape"}, {"y"});
  auto session = load(model);
  ASSERT_TRUE(session) << session.error().to_string();
  auto x = random_tensor({2, 6}, 3);
  auto a = (*session)->run({{"x", x}, {"shape", Tensor::from_values<std::int64_t>({2}, {3, 4})}});
  ASSERT_TRUE(a) << a.error().to_string();
  EXPECT_EQ((*a)[0].tensor.shape(), (Shape{3, 4}));
  auto b = (*session)->run({{"x", x}, {"shape", Tensor::from_values<std::int64_t>({2}, {-1, 2})}});
  ASSERT_TRUE(b) << b.error().to_string();
  EXPECT_EQ((*b)[0].tensor.shape(), (Shape{6, 2}));
  auto bad = (*session)->run({{"x", x}, {"shape", Tensor::from_values<std::int64_t>({2}, {5, 5})}});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::engine_node_invalid);
}

TEST(SessionRun, OutOfRangeIndicesAreAnErrorNotACrash) {
  ModelBuilder model;
  model.input("data", {4, 2}).input("indices", {3}, onnx::TensorProto::INT64).output("y", {3, 2});
  model.node("Gather", {"data", "indices"}, {"y"}, {Attr::integer("axis", 0)});
  SessionOptions options;
  auto session = load(model, options);
  ASSERT_TRUE(session) << session.error().to_string();
  auto data = random_tensor({4, 2}, 1);
  // 3 elements: small enough to be specialised on, so the check runs when compiling.
  auto result = (*session)->run({{"data", data}, {"indices", Tensor::from_values<std::int64_t>({3}, {0, -4, 4})}});
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::engine_input_invalid);
  auto good = (*session)->run({{"data", data}, {"indices", Tensor::from_values<std::int64_t>({3}, {3, -1, 0})}});
  ASSERT_TRUE(good) << good.error().to_string();
  EXPECT_EQ((*good)[0].tensor.values<float>()[0], data.values<float>()[6]);
}

TEST(SessionRun, GraphOutputsMayBeInputsOrConstants) {
  ModelBuilder model;
  model.input("x", {2}).output("x", {2}).output("c", {2}).output("y", {2});
  model.initializer("c", Tensor::from_values<float>({2}, {5, 6}));
  model.node("Add", {"x", "c"}, {"y"});
  auto session = load(model);
  ASSERT_TRUE(session) << session.error().to_string();
  auto outputs = (*session)->run({{"x", Tensor::from_values<float>({2}, {1, 2})}});
  ASSERT_TRUE(outputs) << outputs.error().to_string();
  EXPECT_EQ((*outputs)[0].tensor.values<float>()[1], 2.0f);
  EXPECT_EQ((*outputs)[1].tensor.values<float>()[1], 6.0f);
  EXPECT_EQ((*outputs)[2].tensor.values<float>()[1], 8.0f);
}

TEST(SessionRun, ConstantShapeSubgraphsFoldAtLoad) {
  // Shape → Gather → Unsqueeze → Concat → Reshape: a typical exported flatten.
  ModelBuilder model;
  model.input("x", {2, 3, 4}).output("y", {2, 12});
  model.initializer("zero", Tensor::scalar<std::int64_t>(0));
  model.initializer("minus_one", Tensor::from_values<std::int64_t>({1}, {-1}));
  model.initializer("axes", Tensor::from_values<std::int64_t>({1}, {0}));
  model.node("Shape", {"x"}, {"shape"});
  model.node("Gather", {"shape", "zero"}, {"batch"}, {Attr::integer("axis", 0)});
  model.node("Unsqueeze", {"batch", "axes"}, {"batch1"});
  model.node("Concat", {"batch1", "minus_one"}, {"target"}, {Attr::integer("axis", 0)});
  model.node("Reshape", {"x", "target"}, {"y"});
  auto session = load(model);
  ASSERT_TRUE(session) << session.error().to_string();
  EXPECT_EQ((*session)->stats().folded_nodes, 4u);
  EXPECT_EQ((*session)->outputs().at(0).shape, (Shape{2, 12}));
  auto outputs = (*session)->run({{"x", random_tensor({2, 3, 4}, 1)}});
  ASSERT_TRUE(outputs);
  EXPECT_EQ((*outputs)[0].tensor.shape(), (Shape{2, 12}));
}

// Reference transposed convolution with kernel == stride (each input voxel fills one block).
Tensor reference_upsampling(const Tensor& x, const Tensor& w, const Tensor& b, std::int64_t k) {
  const auto& xs = x.shape();
  const std::int64_t n = xs[0], cin = xs[1], cout = w.shape()[1];
  const std::size_t spatial = xs.size() - 2;
  Shape ys{n, cout};
  for (std::size_t i = 0; i < spatial; ++i) ys.push_back(xs[2 + i] * k);
  Tensor y(DataType::float32, ys);
  const std::int64_t in_voxels = shape_element_count(Shape(xs.begin() + 2, xs.end()));
  const std::int64_t taps = shape_element_count(Shape(w.shape().begin() + 2, w.shape().end()));
  const std::int64_t out_voxels = in_voxels * taps;
  for (std::int64_t batch = 0; batch < n; ++batch) {
    for (std::int64_t v = 0; v < in_voxels; ++v) {
      for (std::int64_t t = 0; t < taps; ++t) {
        // output coordinate = input coordinate * k + tap coordinate, per dimension
        std::int64_t rest_v = v, rest_t = t, index = 0, scale = 1;
        for (std::size_t i = spatial; i-- > 0;) {
          std::int64_t coordinate = (rest_v % xs[2 + i]) * k + rest_t % k;
          rest_v /= xs[2 + i];
          rest_t /= k;
          index += coordinate * scale;
          scale *= ys[2 + i];
        }
        for (std::int64_t o = 0; o < cout; ++o) {
          float sum = b.values<float>()[static_cast<std::size_t>(o)];
          for (std::int64_t c = 0; c < cin; ++c) {
            sum += x.values<float>()[static_cast<std::size_t>((batch * cin + c) * in_voxels + v)] *
                   w.values<float>()[static_cast<std::size_t>((c * cout + o) * taps + t)];
          }
          y.data<float>()[(batch * cout + o) * out_voxels + index] = sum;
        }
      }
    }
  }
  return y;
}

TEST(SessionRun, UpsamplingConvTransposeMatchesAReference) {
  for (std::size_t spatial : {1u, 2u, 3u}) {
    for (bool constant_weights : {true, false}) {
      Shape xs{2, 5}, ws{5, 3};
      for (std::size_t i = 0; i < spatial; ++i) xs.push_back(3 + static_cast<std::int64_t>(i)), ws.push_back(2);
      auto x = random_tensor(xs, 31), w = random_tensor(ws, 32), b = random_tensor({3}, 33);
      ModelBuilder model;
      model.input("x", xs).output("y", std::vector<std::int64_t>(xs.size(), -1));
      if (constant_weights) model.initializer("w", w); else model.input("w", ws);
      model.initializer("b", b);
      model.node("ConvTranspose", {"x", "w", "b"}, {"y"}, {Attr::integers("strides", std::vector<std::int64_t>(spatial, 2))});
      auto session = load(model);
      ASSERT_TRUE(session) << session.error().to_string();
      auto outputs = constant_weights ? (*session)->run({{"x", x}}) : (*session)->run({{"x", x}, {"w", w}});
      ASSERT_TRUE(outputs) << outputs.error().to_string();
      expect_close((*outputs)[0].tensor, reference_upsampling(x, w, b, 2));
    }
  }
}

TEST(SessionRun, ConcatOfConvolutionsMatchesThePlainGraph) {
  // Two convolutions in oneDNN layouts, concatenated (2D and 3D), then a convolution and a
  // transposed convolution: exercises the blocked / channels-last concat paths.
  for (std::size_t spatial : {2u, 3u}) {
    Shape xs{1, 3};
    std::vector<std::int64_t> pads, ones;
    for (std::size_t i = 0; i < spatial; ++i) xs.push_back(6), pads.push_back(1), pads.push_back(1), ones.push_back(1);
    pads.resize(2 * spatial, 1);
    Shape w1{16, 3}, w2{8, 3}, w3{4, 28}, w4{24, 4};  // c: 16 + 8, d: 4 + 24
    for (std::size_t i = 0; i < spatial; ++i) w1.push_back(3), w2.push_back(3), w3.push_back(3), w4.push_back(2);
    ModelBuilder model;
    model.input("x", xs).output("y", std::vector<std::int64_t>(xs.size(), -1));
    model.initializer("w1", random_tensor(w1, 41)).initializer("w2", random_tensor(w2, 42));
    model.initializer("w3", random_tensor(w3, 43)).initializer("w4", random_tensor(w4, 44));
    model.node("Conv", {"x", "w1"}, {"a"}, {Attr::integers("pads", pads)});
    model.node("Conv", {"x", "w2"}, {"b"}, {Attr::integers("pads", pads)});
    model.node("Relu", {"b"}, {"b1"});
    model.node("Concat", {"a", "b1"}, {"c"}, {Attr::integer("axis", 1)});
    model.node("ConvTranspose", {"c", "w4"}, {"u"}, {Attr::integers("strides", std::vector<std::int64_t>(spatial, 2))});
    model.node("MaxPool", {"u"}, {"p"}, {Attr::integers("kernel_shape", std::vector<std::int64_t>(spatial, 2)),
                                          Attr::integers("strides", std::vector<std::int64_t>(spatial, 2))});
    model.node("Concat", {"p", "c"}, {"d"}, {Attr::integer("axis", 1)});
    model.node("Conv", {"d", "w3"}, {"y"}, {Attr::integers("pads", pads)});
    auto optimised = load(model);
    ASSERT_TRUE(optimised) << optimised.error().to_string();
    auto plain = load(model, SessionOptions{.optimize = false});
    ASSERT_TRUE(plain) << plain.error().to_string();
    auto x = random_tensor(xs, 45);
    auto a = (*optimised)->run({{"x", x}});
    auto b = (*plain)->run({{"x", x}});
    ASSERT_TRUE(a && b);
    expect_close((*a)[0].tensor, (*b)[0].tensor);
  }
}

TEST(Session, ListsSupportedOperators) {
  auto operators = supported_operators();
  for (const char* name : {"Conv", "ConvTranspose", "Resize", "MatMul", "BatchNormalization", "Softmax", "Reshape"}) {
    EXPECT_NE(std::find(operators.begin(), operators.end(), name), operators.end()) << name;
  }
  EXPECT_TRUE(std::is_sorted(operators.begin(), operators.end()));
}

TEST(Session, DocsListEveryOperator) {
  // Tests run from the repository root (cloister_test's WORKING_DIRECTORY).
  std::ifstream file("docs/engine.md");
  ASSERT_TRUE(file) << "docs/engine.md not found from " << std::filesystem::current_path();
  std::string docs((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  for (const auto& name : supported_operators()) {
    EXPECT_NE(docs.find("\n| " + name + " |"), std::string::npos) << name << " has no row in docs/engine.md's operator table";
  }
}

}  // namespace
}  // namespace cloister::engine
