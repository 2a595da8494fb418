#include "scorer/registry.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <type_traits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/fs.h"
#include "featurestore/catalog.h"
#include "nlohmann/json.hpp"
#include "scorer/model.h"

namespace recur {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// ---- ModelMeta <-> JSON. nlohmann's object keeps keys sorted and writes a
// non-finite double as null, which is what the trainer's files have always had.

json MetricsToJson(const ModelMeta::Metrics& m) {
  json j = {{"roc_auc", m.roc_auc},
            {"pr_auc", m.pr_auc},
            {"log_loss", m.log_loss},
            {"base_rate", m.base_rate},
            {"lift_top_decile", m.lift_top_decile},
            {"rows", m.rows},
            {"threshold", m.threshold},
            {"precision", m.precision},
            {"recall", m.recall}};
  if (m.calibration) {
    json cal = json::array();
    for (const auto& b : *m.calibration) {
      cal.push_back(
          {{"mean_score", b.mean_score}, {"positive_rate", b.positive_rate}, {"rows", b.rows}});
    }
    j["calibration"] = cal;
  }
  return j;
}

json SplitToJson(const ModelMeta::Split& s) {
  json j = {{"kind", s.kind}};
  if (s.kind == "time") {
    if (!s.validation_cutoff.empty()) j["validation_cutoff"] = s.validation_cutoff;
    if (!s.early_stop_cutoff.empty()) j["early_stop_cutoff"] = s.early_stop_cutoff;
    if (!s.test_cutoffs.empty()) j["test_cutoffs"] = s.test_cutoffs;
    return j;
  }
  j["folds"] = s.folds;
  j["seed"] = s.seed;
  if (!s.fold_rounds.empty()) {
    j["fold_rounds"] = s.fold_rounds;
    j["roc_auc_mean"] = s.roc_auc_mean;
    j["roc_auc_sd"] = s.roc_auc_sd;
  }
  return j;
}

json LabelToJson(const ModelMeta::Label& l) {
  if (l.source == "csv") {
    return {{"source", l.source},
            {"file", l.file},
            {"rows", l.rows},
            {"not_in_snapshot", l.not_in_snapshot}};
  }
  return {{"source", l.source},
          {"repurchase_days", l.repurchase_days},
          {"decline_days", l.decline_days},
          {"decline_ratio", l.decline_ratio}};
}

// Reading: a missing key (or null where a number may be NaN) keeps the
// default; a key of the wrong type throws nlohmann's type_error or BadValue,
// which Parse turns into a Status (no exception leaves this file).
struct BadValue : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// nlohmann would cast a double (1e300: undefined behaviour) or a wider integer
// into T, so a hand-edited file would read back as a silent garbage value.
template <typename T>
bool IsIntegerIn(const json& v) {
  if (v.is_number_unsigned()) return std::in_range<T>(v.get<uint64_t>());
  if (v.is_number_integer()) return std::in_range<T>(v.get<int64_t>());
  return false;
}

template <typename T>
void Get(const json& j, const char* key, T* out) {
  auto it = j.find(key);
  if (it == j.end()) return;
  if constexpr (std::is_integral_v<T>) {
    if (!IsIntegerIn<T>(*it)) {
      throw BadValue(absl::StrCat("\"", key, "\" must be an integer in [",
                                  std::numeric_limits<T>::min(), ", ",
                                  std::numeric_limits<T>::max(), "], got ", it->dump()));
    }
  }
  it->get_to(*out);
}

void GetNumber(const json& j, const char* key, double* out) {
  auto it = j.find(key);
  if (it == j.end()) return;
  *out = it->is_null() ? NAN : it->get<double>();
}

ModelMeta::Metrics MetricsFromJson(const json& j) {
  ModelMeta::Metrics m;
  GetNumber(j, "roc_auc", &m.roc_auc);
  GetNumber(j, "pr_auc", &m.pr_auc);
  GetNumber(j, "log_loss", &m.log_loss);
  GetNumber(j, "base_rate", &m.base_rate);
  GetNumber(j, "lift_top_decile", &m.lift_top_decile);
  Get(j, "rows", &m.rows);
  GetNumber(j, "threshold", &m.threshold);
  GetNumber(j, "precision", &m.precision);
  GetNumber(j, "recall", &m.recall);
  if (auto cal = j.find("calibration"); cal != j.end()) {
    m.calibration.emplace();
    for (const json& b : cal->get_ref<const json::array_t&>()) {
      ModelMeta::Metrics::Bin bin;
      GetNumber(b, "mean_score", &bin.mean_score);
      GetNumber(b, "positive_rate", &bin.positive_rate);
      Get(b, "rows", &bin.rows);
      m.calibration->push_back(bin);
    }
  }
  return m;
}

json BinsToJson(const DriftBins& b) { return {{"edges", b.edges}, {"shares", b.shares}}; }

DriftBins BinsFromJson(const json& j, const std::string& what) {
  DriftBins b;
  Get(j, "edges", &b.edges);
  Get(j, "shares", &b.shares);
  if (b.shares.size() != b.size() || !std::is_sorted(b.edges.begin(), b.edges.end()))
    throw BadValue(absl::StrCat("\"drift\" ", what,
                                ": needs ascending edges and one share more "
                                "than edges per bin plus one for missing values"));
  return b;
}

json DriftToJson(const DriftReference& d) {
  json features = json::object();
  for (size_t f = 0; f < d.features.size() && f < kFeatureNames.size(); ++f)
    features[std::string(kFeatureNames[f])] = BinsToJson(d.features[f]);
  return {{"population", d.population},
          {"rows", d.rows},
          {"features", features},
          {"score", BinsToJson(d.score)}};
}

// Every catalog feature must have its bins: the live tally reads them by index.
DriftReference DriftFromJson(const json& j) {
  DriftReference d;
  Get(j, "population", &d.population);
  if (d.population != "all" && d.population != "revenue_90d > 0")
    throw BadValue(absl::StrCat("\"drift\": unknown population \"", d.population, "\""));
  Get(j, "rows", &d.rows);
  const json& features = j.at("features");
  for (std::string_view name : kFeatureNames) {
    auto it = features.find(std::string(name));
    if (it == features.end())
      throw BadValue(absl::StrCat("\"drift\" has no bins for feature ", std::string(name)));
    d.features.push_back(BinsFromJson(*it, std::string(name)));
  }
  d.score = BinsFromJson(j.at("score"), "score");
  return d;
}

ModelMeta FromJson(const json& j) {
  ModelMeta m;
  Get(j, "version", &m.version);
  Get(j, "target", &m.target);
  Get(j, "schema_hash", &m.schema_hash);
  Get(j, "catalog_version", &m.catalog_version);
  Get(j, "features", &m.features);
  Get(j, "feature_types", &m.feature_types);
  Get(j, "categories", &m.categories);
  Get(j, "cutoffs", &m.cutoffs);
  if (auto s = j.find("split"); s != j.end()) {
    Get(*s, "kind", &m.split.kind);
    Get(*s, "validation_cutoff", &m.split.validation_cutoff);
    Get(*s, "early_stop_cutoff", &m.split.early_stop_cutoff);
    Get(*s, "test_cutoffs", &m.split.test_cutoffs);
    Get(*s, "folds", &m.split.folds);
    Get(*s, "seed", &m.split.seed);
    Get(*s, "fold_rounds", &m.split.fold_rounds);
    GetNumber(*s, "roc_auc_mean", &m.split.roc_auc_mean);
    GetNumber(*s, "roc_auc_sd", &m.split.roc_auc_sd);
  }
  if (auto l = j.find("label"); l != j.end()) {
    Get(*l, "source", &m.label.source);
    Get(*l, "repurchase_days", &m.label.repurchase_days);
    Get(*l, "decline_days", &m.label.decline_days);
    GetNumber(*l, "decline_ratio", &m.label.decline_ratio);
    Get(*l, "file", &m.label.file);
    Get(*l, "rows", &m.label.rows);
    Get(*l, "not_in_snapshot", &m.label.not_in_snapshot);
  }
  Get(j, "params", &m.params);
  Get(j, "rounds", &m.rounds);
  Get(j, "seed", &m.seed);
  if (auto r = j.find("data_range"); r != j.end()) {
    Get(*r, "first_day", &m.first_day);
    Get(*r, "last_day", &m.last_day);
  }
  if (auto r = j.find("rows"); r != j.end()) {
    Get(*r, "train", &m.train_rows);
    Get(*r, "valid", &m.valid_rows);
    Get(*r, "early_stop", &m.early_stop_rows);
  }
  if (auto x = j.find("metrics"); x != j.end()) m.metrics = MetricsFromJson(*x);
  if (auto b = j.find("baseline"); b != j.end()) {
    Get(*b, "name", &m.baseline_name);
    if (auto x = b->find("metrics"); x != b->end()) m.baseline = MetricsFromJson(*x);
  }
  if (auto shops = j.find("metrics_by_shop"); shops != j.end()) {
    for (const auto& [shop, v] : shops->get_ref<const json::object_t&>()) {
      ModelMeta::ShopMetrics& s = m.metrics_by_shop[shop];
      if (auto x = v.find("model"); x != v.end()) s.model = MetricsFromJson(*x);
      if (auto x = v.find("baseline"); x != v.end()) s.baseline = MetricsFromJson(*x);
    }
  }
  if (auto imp = j.find("feature_importance"); imp != j.end()) {
    for (const json& e : imp->get_ref<const json::array_t&>()) {
      ModelMeta::Importance i;
      Get(e, "feature", &i.feature);
      GetNumber(e, "total_gain", &i.total_gain);
      GetNumber(e, "share", &i.share);
      m.feature_importance.push_back(std::move(i));
    }
  }
  if (auto parts = j.find("metrics_by_part"); parts != j.end()) {
    for (const json& e : parts->get_ref<const json::array_t&>()) {
      ModelMeta::Part p;
      Get(e, "part", &p.part);
      if (auto x = e.find("model"); x != e.end()) p.metrics.model = MetricsFromJson(*x);
      if (auto x = e.find("baseline"); x != e.end()) p.metrics.baseline = MetricsFromJson(*x);
      m.metrics_by_part.push_back(std::move(p));
    }
  }
  Get(j, "promotion", &m.promotion);
  if (auto d = j.find("drift"); d != j.end()) m.drift = DriftFromJson(*d);
  return m;
}

std::string FirstLine(const fs::path& p) {
  std::ifstream in(p);
  std::string line;
  if (in) std::getline(in, line);
  return line;
}

}  // namespace

std::string ModelMeta::ToJson() const {
  json shops = json::object();
  for (const auto& [shop, m] : metrics_by_shop) {
    shops[shop] = {{"model", MetricsToJson(m.model)}, {"baseline", MetricsToJson(m.baseline)}};
  }
  json importance = json::array();
  for (const Importance& i : feature_importance) {
    importance.push_back(
        {{"feature", i.feature}, {"total_gain", i.total_gain}, {"share", i.share}});
  }
  json rows = {{"train", train_rows}, {"valid", valid_rows}};
  if (early_stop_rows > 0) rows["early_stop"] = early_stop_rows;
  json j = {{"version", version},
            {"target", target},
            {"schema_hash", schema_hash},
            {"catalog_version", catalog_version},
            {"features", features},
            {"feature_types", feature_types},
            {"categories", categories},
            {"cutoffs", cutoffs},
            {"split", SplitToJson(split)},
            {"label", LabelToJson(label)},
            {"params", params},
            {"rounds", rounds},
            {"seed", seed},
            {"data_range", {{"first_day", first_day}, {"last_day", last_day}}},
            {"rows", rows},
            {"metrics", MetricsToJson(metrics)},
            {"baseline", {{"name", baseline_name}, {"metrics", MetricsToJson(baseline)}}},
            {"metrics_by_shop", shops},
            {"feature_importance", importance},
            {"promotion", promotion}};
  if (!metrics_by_part.empty()) {
    json parts = json::array();
    for (const Part& p : metrics_by_part) {
      parts.push_back({{"part", p.part},
                       {"model", MetricsToJson(p.metrics.model)},
                       {"baseline", MetricsToJson(p.metrics.baseline)}});
    }
    j["metrics_by_part"] = parts;
  }
  if (drift) j["drift"] = DriftToJson(*drift);
  return j.dump(2) + "\n";
}

absl::StatusOr<ModelMeta> ModelMeta::Parse(std::string_view text, const std::string& source) {
  const json j = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": meta.json is not JSON"));
  }
  try {
    return FromJson(j);
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": meta.json: ", e.what()));
  } catch (const BadValue& e) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": meta.json: ", e.what()));
  }
}

absl::StatusOr<ModelMeta> ModelMeta::Read(const fs::path& version_dir) {
  std::ifstream in(ModelRegistry::MetaPath(version_dir), std::ios::binary);
  if (!in)
    return absl::NotFoundError(absl::StrCat("model ", version_dir.string(), ": meta.json missing"));
  std::stringstream text;
  text << in.rdbuf();
  return Parse(text.str(), absl::StrCat("model ", version_dir.string()));
}

absl::Status ModelMeta::Write(const fs::path& version_dir) const {
  return WriteWholeFile(ModelRegistry::MetaPath(version_dir).string(), ToJson());
}

absl::StatusOr<std::string> ModelRegistry::Current(std::string_view target) const {
  std::string version = FirstLine(CurrentPath(target));
  if (version.empty()) {
    return absl::NotFoundError(absl::StrCat("no model: ", CurrentPath(target).string(),
                                            " is missing or empty (run `recur train`)"));
  }
  return version;
}

absl::StatusOr<std::unique_ptr<Model>> ModelRegistry::LoadCurrent(std::string_view target) const {
  auto version = Current(target);
  if (!version.ok()) return version.status();
  return Load(target, *version);
}

absl::StatusOr<std::unique_ptr<Model>> ModelRegistry::Load(std::string_view target,
                                                           std::string_view version) const {
  return Model::Load(VersionDir(target, version).string());
}

absl::Status ModelRegistry::Promote(std::string_view target, std::string_view version) const {
  const fs::path current = CurrentPath(target);
  const fs::path tmp = TargetDir(target) / ".CURRENT.tmp";
  absl::Status s = WriteWholeFile(tmp.string(), std::string(version) + "\n");
  if (!s.ok()) return s;
  std::error_code ec;
  fs::rename(tmp, current, ec);  // atomic replace
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot replace ", current.string(), ": ", ec.message()));
  }
  return absl::OkStatus();
}

CurrentWatch::CurrentWatch(ModelRegistry registry, std::vector<std::string> targets)
    : registry_(std::move(registry)), targets_(std::move(targets)), seen_(Read()) {}

std::string CurrentWatch::Read() const {
  std::string out;
  for (const std::string& target : targets_) {
    absl::StrAppend(&out, target, "=", FirstLine(registry_.CurrentPath(target)), ";");
  }
  return out;
}

bool CurrentWatch::Changed() {
  std::string now = Read();
  if (now == seen_) return false;
  seen_ = std::move(now);
  return true;
}

}  // namespace recur
