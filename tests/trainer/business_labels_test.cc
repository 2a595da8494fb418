// Business labels from CSV: hand-built files, good and bad, and the stratified
// folds used when they come as of a single date.
#include "trainer/business_labels.h"

#include <gtest/gtest.h>

#include <sstream>
#include <vector>

#include "featurestore/calendar.h"
#include "trainer/folds.h"

namespace recur {
namespace {

constexpr int64_t kDefaultAsOf = 1'750'000'000'000;

absl::StatusOr<std::vector<LabelRow>> Parse(const std::string& text) {
  std::istringstream in(text);
  return ParseLabelsCsv(in, "labels.csv", kDefaultAsOf);
}

std::string ErrorOf(const std::string& text) {
  auto r = Parse(text);
  EXPECT_FALSE(r.ok()) << text;
  if (r.ok()) return "";
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(r.status().message());
}

int64_t EndOfDay(int y, int m, int d) {
  return (int64_t{DaysFromCivil({y, m, d})} + 1) * kMillisPerDay - 1;
}

TEST(BusinessLabelsTest, HeaderQuotesBlankLinesAndAsOfForms) {
  auto r = Parse(
      "\xEF\xBB\xBFshop_id,customer_id,label,as_of\r\n"
      "shop-1,c-1,1,2025-03-31\r\n"
      "\n"
      " shop-1 , \"c, 2\" ,0,\r\n"  // trimmed; quoted comma; empty as_of = default
      "shop-2,\"say \"\"hi\"\"\",1,1700000000000\n"
      "shop-2,c-4,0\n");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 4u);
  EXPECT_EQ((*r)[0].key, (CustomerKey{"shop-1", "c-1"}));
  EXPECT_EQ((*r)[0].label, 1.0f);
  EXPECT_EQ((*r)[0].as_of_ms, EndOfDay(2025, 3, 31));  // a date means the end of that UTC day
  EXPECT_EQ((*r)[0].line, 2);
  EXPECT_EQ((*r)[1].key, (CustomerKey{"shop-1", "c, 2"}));
  EXPECT_EQ((*r)[1].as_of_ms, kDefaultAsOf);
  EXPECT_EQ((*r)[1].line, 4);
  EXPECT_EQ((*r)[2].key.customer_id, "say \"hi\"");
  EXPECT_EQ((*r)[2].as_of_ms, 1'700'000'000'000);
  EXPECT_EQ((*r)[3].as_of_ms, kDefaultAsOf);
  EXPECT_EQ((*r)[3].label, 0.0f);
}

TEST(BusinessLabelsTest, NoHeaderIsFine) {
  auto r = Parse("s,c,0\ns,d,1\n");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].line, 1);
}

TEST(BusinessLabelsTest, BadRowsNameTheFileAndLine) {
  const std::string ok = "shop_id,customer_id,label\ns,c1,1\ns,c2,0\ns,c3,1\ns,c4,0\ns,c5,1\n";
  EXPECT_EQ(ErrorOf(ok + "s,c6,yes\n"),
            "labels.csv:7: column 3 (label): must be 0 or 1 (0.0/1.0 and true/false are accepted), "
            "got 'yes'");
  EXPECT_EQ(ErrorOf(ok + "s,c6,0.5\n"),
            "labels.csv:7: column 3 (label): must be 0 or 1 (0.0/1.0 and true/false are accepted), "
            "got '0.5'");
  EXPECT_EQ(ErrorOf("s,c1\n"),
            "labels.csv:1: expected 3 or 4 fields (shop_id,customer_id,label[,as_of]), got 2");
  EXPECT_EQ(ErrorOf("s,c1,1,2025-01-01,x\n"),
            "labels.csv:1: expected 3 or 4 fields (shop_id,customer_id,label[,as_of]), got 5");
  EXPECT_EQ(ErrorOf("s,c1,1\ns,,1\n"), "labels.csv:2: column 2 (customer_id): empty");
  EXPECT_EQ(ErrorOf(",c,1\n"), "labels.csv:1: column 1 (shop_id): empty");
  EXPECT_EQ(ErrorOf("a/b,c,1\n"), "labels.csv:1: column 1 (shop_id): 'a/b' contains '/'");
  EXPECT_EQ(
      ErrorOf("s,c,1,31.03.2025\n"),
      "labels.csv:1: column 4 (as_of): as_of must be YYYY-MM-DD or milliseconds since the epoch, "
      "got '31.03.2025'");
  EXPECT_EQ(
      ErrorOf("s,c,1,2025-02-30\n"),
      "labels.csv:1: column 4 (as_of): as_of must be YYYY-MM-DD or milliseconds since the epoch, "
      "got '2025-02-30'");
  EXPECT_EQ(ErrorOf("s,\"c,1\n"), "labels.csv:1: unterminated quote");
  EXPECT_EQ(ErrorOf("s,\"c\"x,1\n"), "labels.csv:1: text after a closing quote");
  // The same customer twice as of the same day (also when one is given in ms).
  EXPECT_EQ(ErrorOf("s,c,1,2025-03-31\ns,d,0\ns,c,0,2025-03-31\n"),
            "labels.csv:3: s/c as of 2025-03-31 is already labelled on line 1");
  EXPECT_EQ(ErrorOf("s,c,1,2025-03-31\ns,c,0,1743379200000\n"),
            "labels.csv:2: s/c as of 2025-03-31 is already labelled on line 1");
  // A first line without any column name is a row: its label field is reported.
  EXPECT_EQ(ErrorOf("shops,customers,churned\ns,c,1\n"),
            "labels.csv:1: column 3 (label): must be 0 or 1 (0.0/1.0 and true/false are "
            "accepted), got 'churned'");
  EXPECT_EQ(ErrorOf("shop_id,customer_id,label\n\n"), "labels.csv: no label rows");
}

TEST(BusinessLabelsTest, SameCustomerAtTwoDatesIsTwoRows) {
  auto r = Parse("s,c,1,2025-03-31\ns,c,0,2025-04-30\n");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->size(), 2u);
}

TEST(BusinessLabelsTest, MissingFileAndAsOfOutsideTheSnapshot) {
  auto missing = ReadLabelsCsv("/nonexistent/labels.csv", kDefaultAsOf);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("/nonexistent/labels.csv"), std::string::npos);
  auto r = Parse("s,c,1,2025-03-31\ns,d,0,2024-01-01\n");
  ASSERT_TRUE(r.ok());
  const int32_t first = DaysFromCivil({2024, 6, 1}), last = DaysFromCivil({2025, 6, 30});
  absl::Status s = CheckAsOfRange(*r, "labels.csv", first, last);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "labels.csv:2: as_of 2024-01-01 is outside the snapshot's history (2024-06-01 .. "
            "2025-06-30: its last event is on 2025-06-30, and an as_of may reach the end of that "
            "month)");
  EXPECT_TRUE(CheckAsOfRange({(*r)[0]}, "labels.csv", first, last).ok());
}

// Issue 16, item 8: a spreadsheet's export names its columns in its own order,
// writes 1.0 or TRUE for a label and may use ';' (a comma-decimal locale).
TEST(BusinessLabelsTest, HeaderNamedColumnsInAnyOrder) {
  auto r = Parse("label,as_of,customer_id,shop_id\n1,2025-03-31,c-1,s\n0,,c-2,s\n");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].key, (CustomerKey{"s", "c-1"}));
  EXPECT_EQ((*r)[0].label, 1.0f);
  EXPECT_EQ((*r)[0].as_of_ms, EndOfDay(2025, 3, 31));
  EXPECT_EQ((*r)[1].as_of_ms, kDefaultAsOf);
  // "shop" and "customer" name the same columns; without as_of every row has the default.
  auto short_names = Parse("Customer,Label,Shop\nc-1,1,s\n");
  ASSERT_TRUE(short_names.ok()) << short_names.status();
  EXPECT_EQ((*short_names)[0].key, (CustomerKey{"s", "c-1"}));
  EXPECT_EQ((*short_names)[0].as_of_ms, kDefaultAsOf);
}

TEST(BusinessLabelsTest, LabelSpellings) {
  auto r = Parse("s,a,0\ns,b,1\ns,c,0.0\ns,d,1.0\ns,e,true\ns,f,FALSE\ns,g,True\n");
  ASSERT_TRUE(r.ok()) << r.status();
  std::vector<float> labels;
  for (const auto& row : *r) labels.push_back(row.label);
  EXPECT_EQ(labels, (std::vector<float>{0, 1, 0, 1, 1, 0, 1}));
}

TEST(BusinessLabelsTest, SemicolonSeparatorFromTheHeader) {
  auto r = Parse("shop_id;customer_id;label;as_of\ns;\"c;1\";1.0;2025-03-31\ns;c2;0;\n");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].key, (CustomerKey{"s", "c;1"}));
  EXPECT_EQ((*r)[0].as_of_ms, EndOfDay(2025, 3, 31));
  EXPECT_EQ((*r)[1].label, 0.0f);
  auto headerless = Parse("s;c;true\n");
  ASSERT_TRUE(headerless.ok()) << headerless.status();
  EXPECT_EQ((*headerless)[0].key, (CustomerKey{"s", "c"}));
}

TEST(BusinessLabelsTest, HeaderErrorsNameTheColumn) {
  EXPECT_EQ(ErrorOf("shop_id,customer_id,churned\ns,c,1\n"),
            "labels.csv:1: column 3: unknown column 'churned' (expected shop_id, customer_id, "
            "label and optionally as_of, in any order)");
  EXPECT_EQ(ErrorOf("shop_id,label\ns,1\n"), "labels.csv:1: the header has no customer_id column");
  EXPECT_EQ(ErrorOf("shop_id,customer_id,label,shop\ns,c,1,s\n"),
            "labels.csv:1: column 4: shop_id is also column 1");
  EXPECT_EQ(ErrorOf("label,customer_id,shop_id\n1,c\n"),
            "labels.csv:2: expected 3 fields as in the header, got 2");
  EXPECT_EQ(ErrorOf("label;customer_id;shop_id\n2;c;s\n"),
            "labels.csv:2: column 1 (label): must be 0 or 1 (0.0/1.0 and true/false are "
            "accepted), got '2'");
}

TEST(BusinessLabelsTest, AsOfUpToTheEndOfTheLastEventsMonth) {
  // The store's last event is on 2025-06-27: a month-end label as of 2025-06-30
  // is what the business has, and the store holds everything up to it.
  auto r = Parse("s,c,1,2025-06-30\ns,d,0,2025-07-01\n");
  ASSERT_TRUE(r.ok());
  const int32_t first = DaysFromCivil({2024, 6, 1}), last = DaysFromCivil({2025, 6, 27});
  EXPECT_TRUE(CheckAsOfRange({(*r)[0]}, "labels.csv", first, last).ok());
  absl::Status s = CheckAsOfRange(*r, "labels.csv", first, last);
  EXPECT_EQ(s.message(),
            "labels.csv:2: as_of 2025-07-01 is outside the snapshot's history (2024-06-01 .. "
            "2025-06-30: its last event is on 2025-06-27, and an as_of may reach the end of that "
            "month)");
}

TEST(FoldsTest, StratifiedFoldsSplitEachLabelEvenly) {
  // 10 positives and 23 negatives into 5 folds: 2 positives per fold; the
  // negatives continue the round-robin at fold 0 (10 % 5), so folds 0-2 get 5
  // and folds 3-4 get 4: sizes 7 7 7 6 6.
  std::vector<float> y;
  for (int i = 0; i < 33; ++i) y.push_back(i % 3 == 0 && i < 30 ? 1.0f : 0.0f);
  auto f = StratifiedFolds(y, 5, 42);
  ASSERT_TRUE(f.ok()) << f.status();
  std::vector<int> pos(5, 0), all(5, 0);
  for (size_t i = 0; i < y.size(); ++i) {
    ++all[(*f)[i]];
    pos[(*f)[i]] += y[i] > 0.5f;
  }
  EXPECT_EQ(pos, (std::vector<int>{2, 2, 2, 2, 2}));
  EXPECT_EQ(all, (std::vector<int>{7, 7, 7, 6, 6}));
  EXPECT_EQ(*StratifiedFolds(y, 5, 42), *f);  // seeded: the same folds again
  EXPECT_NE(*StratifiedFolds(y, 5, 43), *f);
}

TEST(FoldsTest, TooFewRowsOfALabelIsAnError) {
  auto f = StratifiedFolds({1, 1, 0, 0, 0, 0, 0}, 5, 1);
  EXPECT_EQ(f.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(f.status().message().find("2 with label 1"), std::string::npos) << f.status();
  EXPECT_FALSE(StratifiedFolds({1, 0}, 1, 1).ok());
}

}  // namespace
}  // namespace recur
