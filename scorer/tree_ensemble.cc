#include "scorer/tree_ensemble.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

// Bit-identity with XGBoost needs the same float operations in the same order:
// this file is compiled with -ffp-contract=off (no fused multiply-adds), as
// Debian's XGBoost is (baseline x86-64 has no FMA).

namespace recur {
namespace {

// Numbers parsed as float, with strtof: the values XGBoost wrote (shortest
// round-trip float text) come back bit for bit, with no double rounding.
using FloatJson = nlohmann::basic_json<std::map, std::vector, std::string, bool, std::int64_t,
                                       std::uint64_t, float>;

absl::Status Refuse(const std::string& why) {
  return absl::UnimplementedError(absl::StrCat("own tree evaluator: ", why));
}

// XGBoost's common::InvalidCat bound: categories are below 2^24.
constexpr float kMaxCat = 16777216.0f;

// XGBoost writes a categorical split's unused condition as NaN, which JSON has
// no literal for: NaN and infinities outside strings become null.
std::string NonFiniteToNull(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  bool in_string = false;
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (in_string) {
      out += c;
      if (c == '\\' && i + 1 < in.size()) {
        out += in[++i];
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') in_string = true;
    for (std::string_view token : {"-Infinity", "Infinity", "-NaN", "NaN"}) {
      if (in.substr(i, token.size()) == token) {
        out += "null";
        i += token.size();
        break;
      }
    }
    if (i < in.size()) out += in[i];
  }
  return out;
}

bool Flag(const FloatJson& v) { return v.is_boolean() ? v.get<bool>() : v.get<int64_t>() != 0; }

}  // namespace

int32_t TreeEnsemble::Next(const Node& n, float v) const {
  if (std::isnan(v)) return n.default_left ? n.left : n.right;
  if (n.categorical) {
    // common::Decision: an invalid category, or one outside the node's set,
    // goes left; one in the set goes right.
    if (v < 0 || v >= kMaxCat) return n.left;
    const auto c = static_cast<uint32_t>(v);
    if (c / 32 >= n.cat_size) return n.left;
    return (cat_words_[n.cat_begin + c / 32] >> (c % 32)) & 1u ? n.right : n.left;
  }
  return v < n.value ? n.left : n.right;
}

void TreeEnsemble::Margins(const float* rows, size_t n, float* out) const {
  for (size_t r = 0; r < n; ++r) {
    const float* row = rows + r * static_cast<size_t>(num_features_);
    float m = base_margin_;
    for (const uint32_t root : roots_) {
      const Node* node = &nodes_[root];
      while (node->left >= 0) node = &nodes_[Next(*node, row[node->feature])];
      m += node->value;
    }
    out[r] = m;
  }
}

float TreeEnsemble::Probability(float margin) {
  // common::Sigmoid of XGBoost 1.7.
  constexpr float kEps = 1e-16f;
  const float x = std::min(-margin, 88.7f);
  const float denom = expf(x) + 1.0f + kEps;
  return 1.0f / denom;
}

void TreeEnsemble::Contributions(const float* rows, size_t n, float* out) const {
  const size_t width = static_cast<size_t>(num_features_) + 1;
  std::fill(out, out + n * width, 0.0f);
  // One tree's contributions, per feature on its path, summed in path order
  // (XGBoost's this_tree_contribs), then added to the row's. Scratch per call.
  std::vector<int32_t> feature(static_cast<size_t>(max_depth_) + 1);
  std::vector<float> sum(feature.size());
  for (size_t r = 0; r < n; ++r) {
    const float* row = rows + r * static_cast<size_t>(num_features_);
    float* c = out + r * width;
    for (const uint32_t root : roots_) {
      const Node* node = &nodes_[root];
      c[num_features_] += means_[root];
      if (node->left < 0) continue;
      size_t used = 0;
      auto add = [&](int32_t f, float v) {
        size_t i = 0;
        while (i < used && feature[i] != f) ++i;
        if (i == used) {
          feature[used] = f;
          sum[used++] = 0.0f;
        }
        sum[i] += v;
      };
      float node_value = means_[root];
      int32_t split = 0;
      while (node->left >= 0) {
        split = node->feature;
        const int32_t next = Next(*node, row[split]);
        const float value = means_[next];
        add(split, value - node_value);
        node_value = value;
        node = &nodes_[next];
      }
      add(split, node->value - node_value);
      for (size_t i = 0; i < used; ++i) c[feature[i]] += sum[i];
    }
    c[num_features_] += base_margin_;
  }
}

std::vector<std::vector<float>> TreeEnsemble::Thresholds() const {
  std::vector<std::vector<float>> out(static_cast<size_t>(num_features_));
  for (const Node& n : nodes_) {
    if (n.left < 0) continue;
    auto& t = out[static_cast<size_t>(n.feature)];
    if (!n.categorical) {
      t.push_back(n.value);
      continue;
    }
    for (uint32_t w = 0; w < n.cat_size; ++w) {
      for (uint32_t b = 0; b < 32; ++b) {
        if ((cat_words_[n.cat_begin + w] >> b) & 1u) t.push_back(static_cast<float>(w * 32 + b));
      }
    }
  }
  for (auto& t : out) {
    std::sort(t.begin(), t.end());
    t.erase(std::unique(t.begin(), t.end()), t.end());
  }
  return out;
}

void TreeEnsemble::FillMeans(uint32_t root, const std::vector<float>& hessian) {
  // XGBoost's FillNodeMeanValues: the same recursion, the same float
  // operations; and the tree's depth.
  means_.resize(nodes_.size());
  std::function<float(size_t, int)> fill = [&](size_t i, int depth) {
    const Node& node = nodes_[root + i];
    float result;
    if (node.left < 0) {
      result = node.value;
      max_depth_ = std::max(max_depth_, depth);
    } else {
      const size_t l = node.left - root, r = node.right - root;
      result = fill(l, depth + 1) * hessian[l];
      result += fill(r, depth + 1) * hessian[r];
      result /= hessian[i];
    }
    means_[root + i] = result;
    return result;
  };
  fill(0, 0);
}

absl::StatusOr<TreeEnsemble> TreeEnsemble::FromJson(std::string_view model_json, int num_features) {
  FloatJson doc;
  try {
    doc = FloatJson::parse(NonFiniteToNull(model_json));
  } catch (const FloatJson::exception& ex) {
    return Refuse(absl::StrCat("not JSON: ", ex.what()));
  }
  try {
    const FloatJson& learner = doc.at("learner");
    if (learner.at("objective").at("name") != "binary:logistic")
      return Refuse(absl::StrCat("objective ", learner.at("objective").at("name").dump()));
    const FloatJson& param = learner.at("learner_model_param");
    const auto text = [&](const char* key) { return param.value(key, std::string("0")); };
    if (std::atoi(text("num_class").c_str()) > 1 || std::atoi(text("num_target").c_str()) > 1)
      return Refuse("several outputs");
    if (std::atoi(text("num_feature").c_str()) != num_features) return Refuse("feature count");
    const std::string base = param.at("base_score").get<std::string>();
    char* end = nullptr;
    const float base_score = std::strtof(base.c_str(), &end);
    if (end == base.c_str() || !(base_score > 0.0f && base_score < 1.0f))
      return Refuse("base_score");
    const FloatJson& booster = learner.at("gradient_booster");
    if (booster.at("name") != "gbtree")
      return Refuse(absl::StrCat("booster ", booster.at("name").dump()));
    const FloatJson& model = booster.at("model");
    TreeEnsemble e;
    e.num_features_ = num_features;
    // LogisticRegression::ProbToMargin of XGBoost 1.7.
    e.base_margin_ = -logf(1.0f / base_score - 1.0f);
    for (const FloatJson& info : model.at("tree_info")) {
      if (info.get<int64_t>() != 0) return Refuse("tree of another output group");
    }
    for (const FloatJson& tree : model.at("trees")) {
      const auto& lefts = tree.at("left_children");
      const auto& rights = tree.at("right_children");
      const auto& features = tree.at("split_indices");
      const auto& conds = tree.at("split_conditions");
      const auto& defaults = tree.at("default_left");
      const auto& hess = tree.at("sum_hessian");
      const size_t n = lefts.size();
      if (n == 0 || rights.size() != n || features.size() != n || conds.size() != n ||
          defaults.size() != n || hess.size() != n)
        return Refuse("tree arrays of different lengths");
      const FloatJson empty = FloatJson::array();
      const auto& types = tree.contains("split_type") ? tree.at("split_type") : empty;
      const auto root = static_cast<uint32_t>(e.nodes_.size());
      e.roots_.push_back(root);
      std::vector<float> hessian(n);
      for (size_t i = 0; i < n; ++i) {
        Node node;
        const int64_t l = lefts[i].get<int64_t>(), r = rights[i].get<int64_t>();
        const int64_t f = features[i].get<int64_t>();
        if (l >= 0) {
          if (l >= static_cast<int64_t>(n) || r < 0 || r >= static_cast<int64_t>(n) || f < 0 ||
              f >= num_features || l <= static_cast<int64_t>(i) || r <= static_cast<int64_t>(i))
            return Refuse("malformed node");
          node.left = static_cast<int32_t>(root + l);
          node.right = static_cast<int32_t>(root + r);
          node.feature = static_cast<int32_t>(f);
        }
        node.default_left = Flag(defaults[i]);
        node.categorical = !types.empty() && types.at(i).get<int64_t>() == 1;
        if (conds[i].is_null() && !(node.categorical && node.left >= 0))
          return Refuse("a split or leaf value that is not finite");
        node.value = conds[i].is_null() ? NAN : conds[i].get<float>();
        hessian[i] = hess[i].get<float>();
        e.nodes_.push_back(node);
      }
      // Categorical splits: their category lists, as a bit set per node.
      if (tree.contains("categories_nodes")) {
        const auto& cat_nodes = tree.at("categories_nodes");
        const auto& segments = tree.at("categories_segments");
        const auto& sizes = tree.at("categories_sizes");
        const auto& cats = tree.at("categories");
        for (size_t k = 0; k < cat_nodes.size(); ++k) {
          const int64_t nid = cat_nodes[k].get<int64_t>();
          if (nid < 0 || nid >= static_cast<int64_t>(n)) return Refuse("categorical node");
          Node& node = e.nodes_[root + static_cast<size_t>(nid)];
          const auto begin = segments.at(k).get<int64_t>(), size = sizes.at(k).get<int64_t>();
          int64_t max_cat = -1;
          for (int64_t j = begin; j < begin + size; ++j) {
            const int64_t c = cats.at(static_cast<size_t>(j)).get<int64_t>();
            if (c < 0 || c >= static_cast<int64_t>(kMaxCat)) return Refuse("category");
            max_cat = std::max(max_cat, c);
          }
          if (max_cat < 0 || !node.categorical || node.left < 0) return Refuse("categorical split");
          node.cat_begin = static_cast<uint32_t>(e.cat_words_.size());
          node.cat_size = static_cast<uint32_t>(max_cat / 32 + 1);
          e.cat_words_.resize(e.cat_words_.size() + node.cat_size, 0);
          for (int64_t j = begin; j < begin + size; ++j) {
            const auto c = static_cast<uint32_t>(cats.at(static_cast<size_t>(j)).get<int64_t>());
            e.cat_words_[node.cat_begin + c / 32] |= 1u << (c % 32);
          }
        }
      }
      for (size_t i = 0; i < n; ++i) {
        const Node& node = e.nodes_[root + i];
        if (node.categorical && node.cat_size == 0 && node.left >= 0)
          return Refuse("categorical split without categories");
      }
      e.FillMeans(root, hessian);
    }
    if (e.roots_.empty()) return Refuse("no trees");
    return e;
  } catch (const FloatJson::exception& ex) {
    return Refuse(absl::StrCat("unexpected model JSON: ", ex.what()));
  }
}

}  // namespace recur
