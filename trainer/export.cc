#include "trainer/export.h"

#include <cmath>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/time.h"
#include "featurestore/catalog.h"

namespace recur {
namespace {

// RFC 4180: quoted when it holds a separator, quote or line break.
std::string CsvField(const std::string& v) {
  if (v.find_first_of(",\"\r\n") == std::string::npos) return v;
  std::string out = "\"";
  for (char c : v) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

// %.17g of the float's exact double value: a reader parsing it as a double
// (pandas) gets exactly the value recur used, not merely a nearby one.
std::string Number(float v) {
  return std::isnan(v) ? std::string() : absl::StrFormat("%.17g", static_cast<double>(v));
}

}  // namespace

absl::StatusOr<std::string> WriteTrainingSetCsv(const std::string& dir,
                                                const std::vector<ExportRows>& runs) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("--export ", dir, ": ", ec.message()));
  const fs::path path = fs::path(dir) / "training_set.csv";
  const fs::path tmp = fs::path(dir) / ".training_set.csv.tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << "shop_id,customer_id,cutoff,split,label";
    for (std::string_view name : kFeatureNames) out << "," << name;
    out << ",prediction\n";
    for (const ExportRows& run : runs) {
      const TrainingSet& set = *run.set;
      for (size_t r = 0; r < set.rows(); ++r) {
        out << CsvField(set.shop_id[r]) << "," << CsvField(set.customer_id[r]) << ","
            << FormatDayOfMs(set.cutoff_ms[r]) << ","
            << (run.fold != nullptr ? std::to_string((*run.fold)[r]) : run.split) << ","
            << Number(set.y[r]);
        for (int i = 0; i < kNumFeatures; ++i) {
          out << ",";
          if (i == kTopCategory6m)
            out << CsvField(set.top_category[r]);
          else
            out << Number(set.x[r * kNumFeatures + i]);
        }
        out << "," << (run.prediction != nullptr ? Number((*run.prediction)[r]) : "") << "\n";
      }
    }
    out.flush();
    if (!out) {
      fs::remove(tmp, ec);
      return absl::UnavailableError(absl::StrCat("--export: cannot write ", tmp.string()));
    }
  }
  fs::rename(tmp, path, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("--export: cannot write ", path.string(), ": ", ec.message()));
  }
  return path.string();
}

}  // namespace recur
