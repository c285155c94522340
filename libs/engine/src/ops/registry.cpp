// The one table of operators: ONNX op type → factory (one file per operator in this folder).
// A new operator: add its file, declare its factory in operators.h, add one line here, and make
// sure the ONNX backend node tests for it pass (libs/engine/test/node_test_runner.cpp).
#include "ops/registry.h"

#include "ops/operators.h"

#include <algorithm>

namespace cloister::engine {

namespace {

constexpr auto plain = LayoutSupport::plain;
constexpr auto dense = LayoutSupport::dense;
constexpr auto any = LayoutSupport::any;

// Sorted by (domain, op type).
constexpr OperatorDef kOperators[] = {
    {"", "Abs", make_abs, dense},
    {"", "Acos", make_acos, plain},
    {"", "Acosh", make_acosh, plain},
    {"", "Add", make_add, any},
    {"", "And", make_and, plain},
    {"", "ArgMax", make_arg_max, plain},
    {"", "ArgMin", make_arg_min, plain},
    {"", "Asin", make_asin, plain},
    {"", "Asinh", make_asinh, plain},
    {"", "Atan", make_atan, plain},
    {"", "Atanh", make_atanh, plain},
    {"", "AveragePool", make_average_pool, any},
    {"", "BatchNormalization", make_batch_normalization, any},
    {"", "BitShift", make_bit_shift, plain},
    {"", "Cast", make_cast, plain},
    {"", "CastLike", make_cast_like, plain},
    {"", "Ceil", make_ceil, dense},
    {"", "Celu", make_celu, dense},
    {"", "Clip", make_clip, dense},
    {"", "Concat", make_concat, any},
    {"", "Constant", make_constant, plain},
    {"", "ConstantOfShape", make_constant_of_shape, plain},
    {"", "Conv", make_conv, any},
    {"", "ConvTranspose", make_conv_transpose, any},
    {"", "Cos", make_cos, plain},
    {"", "Cosh", make_cosh, plain},
    {"", "CumSum", make_cum_sum, plain},
    {"", "DepthToSpace", make_depth_to_space, plain},
    {"", "Div", make_div, any},
    {"", "Dropout", make_dropout, plain},
    {"", "Elu", make_elu, dense},
    {"", "Equal", make_equal, plain},
    {"", "Erf", make_erf, dense},
    {"", "Exp", make_exp, dense},
    {"", "Expand", make_expand, plain},
    {"", "EyeLike", make_eye_like, plain},
    {"", "Flatten", make_flatten, plain},
    {"", "Floor", make_floor, dense},
    {"", "Gather", make_gather, plain},
    {"", "GatherElements", make_gather_elements, plain},
    {"", "GatherND", make_gather_nd, plain},
    {"", "Gelu", make_gelu, dense},
    {"", "Gemm", make_gemm, plain},
    {"", "GlobalAveragePool", make_global_average_pool, any},
    {"", "GlobalMaxPool", make_global_max_pool, any},
    {"", "Greater", make_greater, plain},
    {"", "GreaterOrEqual", make_greater_or_equal, plain},
    {"", "HardSigmoid", make_hard_sigmoid, dense},
    {"", "HardSwish", make_hard_swish, dense},
    {"", "Hardmax", make_hardmax, plain},
    {"", "Identity", make_identity, dense},
    {"", "InstanceNormalization", make_instance_normalization, any},
    {"", "IsInf", make_is_inf, plain},
    {"", "IsNaN", make_is_nan, plain},
    {"", "LRN", make_lrn, any},
    {"", "LayerNormalization", make_layer_normalization, plain},
    {"", "LeakyRelu", make_leaky_relu, dense},
    {"", "Less", make_less, plain},
    {"", "LessOrEqual", make_less_or_equal, plain},
    {"", "Log", make_log, dense},
    {"", "LogSoftmax", make_log_softmax, plain},
    {"", "MatMul", make_mat_mul, plain},
    {"", "Max", make_max, plain},
    {"", "MaxPool", make_max_pool, any},
    {"", "Mean", make_mean, plain},
    {"", "MeanVarianceNormalization", make_mean_variance_normalization, plain},
    {"", "Min", make_min, plain},
    {"", "Mish", make_mish, dense},
    {"", "Mod", make_mod, plain},
    {"", "Mul", make_mul, any},
    {"", "Neg", make_neg, dense},
    {"", "NonZero", make_non_zero, plain},
    {"", "Not", make_not, plain},
    {"", "OneHot", make_one_hot, plain},
    {"", "Or", make_or, plain},
    {"", "PRelu", make_p_relu, plain},
    {"", "Pad", make_pad, plain},
    {"", "Pow", make_pow, plain},
    {"", "Range", make_range, plain},
    {"", "Reciprocal", make_reciprocal, dense},
    {"", "ReduceL1", make_reduce_l1, plain},
    {"", "ReduceL2", make_reduce_l2, plain},
    {"", "ReduceLogSum", make_reduce_log_sum, plain},
    {"", "ReduceLogSumExp", make_reduce_log_sum_exp, plain},
    {"", "ReduceMax", make_reduce_max, plain},
    {"", "ReduceMean", make_reduce_mean, plain},
    {"", "ReduceMin", make_reduce_min, plain},
    {"", "ReduceProd", make_reduce_prod, plain},
    {"", "ReduceSum", make_reduce_sum, plain},
    {"", "ReduceSumSquare", make_reduce_sum_square, plain},
    {"", "Relu", make_relu, dense},
    {"", "Reshape", make_reshape, plain},
    {"", "Resize", make_resize, plain},
    {"", "Round", make_round, dense},
    {"", "Scatter", make_scatter, plain},
    {"", "ScatterElements", make_scatter_elements, plain},
    {"", "ScatterND", make_scatter_nd, plain},
    {"", "Selu", make_selu, dense},
    {"", "Shape", make_shape, plain},
    {"", "Shrink", make_shrink, dense},
    {"", "Sigmoid", make_sigmoid, dense},
    {"", "Sign", make_sign, dense},
    {"", "Sin", make_sin, plain},
    {"", "Sinh", make_sinh, plain},
    {"", "Size", make_size, plain},
    {"", "Slice", make_slice, plain},
    {"", "Softmax", make_softmax, plain},
    {"", "Softplus", make_softplus, dense},
    {"", "Softsign", make_softsign, dense},
    {"", "SpaceToDepth", make_space_to_depth, plain},
    {"", "Split", make_split, plain},
    {"", "Sqrt", make_sqrt, dense},
    {"", "Squeeze", make_squeeze, plain},
    {"", "Sub", make_sub, any},
    {"", "Sum", make_sum, plain},
    {"", "Tan", make_tan, plain},
    {"", "Tanh", make_tanh, dense},
    {"", "ThresholdedRelu", make_thresholded_relu, dense},
    {"", "Tile", make_tile, plain},
    {"", "TopK", make_top_k, plain},
    {"", "Transpose", make_transpose, plain},
    {"", "Trilu", make_trilu, plain},
    {"", "Unsqueeze", make_unsqueeze, plain},
    {"", "Upsample", make_upsample, plain},
    {"", "Where", make_where, plain},
    {"", "Xor", make_xor, plain},
};

}  // namespace

std::span<const OperatorDef> operator_table() { return kOperators; }

const OperatorDef* find_operator(std::string_view domain, std::string_view op_type) {
  auto it = std::lower_bound(std::begin(kOperators), std::end(kOperators), std::pair{domain, op_type},
                             [](const OperatorDef& entry, const auto& key) {
                               return std::pair{entry.domain, entry.op_type} < key;
                             });
  if (it == std::end(kOperators) || it->domain != domain || it->op_type != op_type) return nullptr;
  return &*it;
}

}  // namespace cloister::engine
