// report.html as generated (the Chromium render is report_render_test.sh):
// the baseline's ROC and precision-recall curves beside the model's, named
// axes with ticks on every chart, and the promotion decision with its reason.
#include "trainer/report.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "trainer/metrics.h"

namespace recur {
namespace {

int Count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

class ReportTest : public ::testing::Test {
 protected:
  ReportTest() {
    scores_ = {0.9f, 0.8f, 0.7f, 0.6f, 0.4f, 0.3f, 0.2f, 0.1f};
    baseline_ = {0.5f, 0.1f, 0.4f, 0.3f, 0.2f, 0.6f, 0.7f, 0.05f};
    y_ = {1, 1, 0, 1, 0, 0, 1, 0};
    r_.version = "20250630-abcdef01";
    r_.model = Evaluate(scores_, y_);
    r_.baseline = AsRanking(Evaluate(baseline_, y_));
    r_.baseline_name = "recency: fewer days since the last purchase";
    r_.split = "time";
    r_.valid_rows = 8;
    r_.importance.assign(1, 1.0f);
  }
  std::string Render() { return RenderReport(r_, Target::kRepurchase30d, scores_, baseline_, y_); }
  std::vector<float> scores_, baseline_, y_;
  TrainResult r_;
};

TEST_F(ReportTest, RocAndPrChartsHaveTheBaselineCurveBesideTheModels) {
  const std::string html = Render();
  EXPECT_EQ(Count(html, "<polyline class='model'"), 2) << html;
  EXPECT_EQ(Count(html, "<polyline class='baseline'"), 2) << html;
  EXPECT_NE(html.find("baseline (recency: fewer days since the last purchase)"), std::string::npos);
}

TEST_F(ReportTest, EveryChartHasNamedAxesWithTicks) {
  const std::string html = Render();
  for (const char* axis : {"false positive rate", "true positive rate", "recall", "precision",
                           "predicted probability", "observed outcome rate", "score", "customers"})
    EXPECT_NE(html.find(std::string(">") + axis + "</text>"), std::string::npos) << axis;
  // Ticks at 0, 0.5 and 1 on both axes of the three unit-square charts.
  EXPECT_GE(Count(html, "<text class='tick'"), 4 * 6) << html;
}

TEST_F(ReportTest, ThePromotionDecisionAndItsReasonAreStated) {
  r_.promoted = false;
  r_.promotion_note =
      "validation has one class (all 0), so no ROC-AUC: not promoted; --force to promote anyway";
  std::string html = Render();
  EXPECT_NE(html.find("<p id='promotion'>Not promoted: validation has one class (all 0)"),
            std::string::npos)
      << html;
  r_.promoted = true;
  r_.promotion_note = "no CURRENT model yet: promoted";
  html = Render();
  EXPECT_NE(html.find("<p id='promotion'>Promoted to CURRENT: no CURRENT model yet"),
            std::string::npos);
}

// Issue 16, item 5: the per-cutoff (time split) and per-fold (k-fold, with
// mean ± sd and the folds' rounds) figures are on the page beside the pooled one.
TEST_F(ReportTest, PerTestCutoffAndPerFoldFiguresAreShown) {
  r_.early_stop_cutoff = "2025-03-31";
  r_.parts = {{"2025-04-30", Evaluate(scores_, y_), AsRanking(Evaluate(baseline_, y_))},
              {"2025-05-31", Evaluate(scores_, y_), AsRanking(Evaluate(baseline_, y_))}};
  std::string html = Render();
  EXPECT_EQ(Count(html, "<tr class='part'>"), 2) << html;
  EXPECT_NE(html.find("<td>2025-05-31</td>"), std::string::npos) << html;
  EXPECT_NE(html.find("Pooled over the test cutoffs"), std::string::npos) << html;
  EXPECT_NE(html.find("2025-03-31 only chose its number of rounds"), std::string::npos) << html;
  r_.split = "2-fold";
  r_.parts[0].part = "fold 1";
  r_.parts[1].part = "fold 2";
  r_.fold_roc_auc_mean = 0.75;
  r_.fold_roc_auc_sd = 0.125;
  r_.fold_rounds = {12, 17};
  html = Render();
  EXPECT_NE(html.find("<td>fold 2</td>"), std::string::npos) << html;
  EXPECT_NE(html.find("per fold 0.750 ± 0.125 (mean ± sd); rounds per fold 12 17"),
            std::string::npos)
      << html;
}

}  // namespace
}  // namespace recur
