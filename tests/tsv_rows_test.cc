// The ICEWS and YAGO row readers: ids, dates at their precision, and honest rejections.
#include "clients/cli/tsv_rows.h"

#include <gtest/gtest.h>

namespace annals::cli {
namespace {

TEST(EntityIds, AreDeterministicAndKeepDistinctNamesApart) {
  EXPECT_EQ(EntityIdFor("John Kerry"), "john-kerry");
  EXPECT_EQ(EntityIdFor("John Kerry"), EntityIdFor("John Kerry"));
  EXPECT_EQ(EntityIdFor("Government_of_Canada"), "government-of-canada");
  // Folding would lose the accent: a hash of the original name keeps "Gül" and "Gul" apart.
  const std::string gul = EntityIdFor("Abdullah Gül");
  EXPECT_EQ(gul.rfind("abdullah-g-l-", 0), 0u) << gul;
  EXPECT_NE(gul, EntityIdFor("Abdullah Gul"));
  EXPECT_EQ(gul, EntityIdFor("Abdullah Gül"));
  EXPECT_NE(EntityIdFor("Citizen (India)"), EntityIdFor("Citizen India"));
  // Long names are cut, and a hash keeps them unique and within 128 bytes.
  const std::string long_name(300, 'x');
  EXPECT_LE(EntityIdFor(long_name).size(), 128u);
  EXPECT_NE(EntityIdFor(long_name), EntityIdFor(long_name + "y"));
  EXPECT_EQ(EntityIdFor("???").rfind("entity-", 0), 0u);
}

TEST(YagoDates, KeepEveryPrecision) {
  auto day = ParseYagoDate("1952-03-07");
  ASSERT_TRUE(day.ok());
  EXPECT_EQ(day->date.year(), 1952);
  EXPECT_EQ(day->date.month(), 3);
  EXPECT_EQ(day->date.day(), 7);
  auto year = ParseYagoDate("1952-##-##");
  ASSERT_TRUE(year.ok());
  EXPECT_EQ(year->date.year(), 1952);
  EXPECT_EQ(year->date.month(), 0);
  EXPECT_FALSE(year->latest.year());
  auto month = ParseYagoDate("2005-05-##");
  ASSERT_TRUE(month.ok());
  EXPECT_EQ(month->date.month(), 5);
  EXPECT_EQ(month->date.day(), 0);
  auto decade = ParseYagoDate("195#-##-##");
  ASSERT_TRUE(decade.ok());
  EXPECT_EQ(decade->date.year(), 1950);
  EXPECT_EQ(decade->latest.year(), 1959);
  auto century = ParseYagoDate("19##-##-##");
  ASSERT_TRUE(century.ok());
  EXPECT_EQ(century->date.year(), 1900);
  EXPECT_EQ(century->latest.year(), 1999);
  auto unknown = ParseYagoDate("####-##-##");
  ASSERT_TRUE(unknown.ok());
  EXPECT_TRUE(unknown->unknown);
  auto bce = ParseYagoDate("-405-##-##");
  ASSERT_TRUE(bce.ok());
  EXPECT_EQ(bce->date.year(), -405);
  auto bce_decade = ParseYagoDate("-40#-##-##");
  ASSERT_TRUE(bce_decade.ok());
  EXPECT_EQ(bce_decade->date.year(), -409);
  EXPECT_EQ(bce_decade->latest.year(), -400);
  EXPECT_EQ(ParseYagoDate("360-##-##")->date.year(), 360);  // odd, but a real year: taken
}

TEST(YagoDates, RejectWhatCannotBeTakenAsItIs) {
  for (const char* bad : {"307-13047-09", "1952-13-##", "1952-##-05", "19#2-##-##", "195#-05-##", "0-##-##",
                          "####-05-##", "1952/03/07", "", "abcd-##-##"}) {
    auto got = ParseYagoDate(bad);
    EXPECT_FALSE(got.ok()) << "'" << bad << "' was taken";
  }
  EXPECT_NE(ParseYagoDate("307-13047-09").status().message().find("307-13047-09"), std::string::npos);
}

TEST(Rows, IcewsRowIsADayEvent) {
  auto row = ParseIcewsLine("John Kerry\tExpress intent to meet or negotiate\tChina\t2014-11-04");
  ASSERT_TRUE(row.ok()) << row.status();
  EXPECT_EQ(row->subject_label, "John Kerry");
  EXPECT_EQ(row->predicate, "Express intent to meet or negotiate");
  EXPECT_EQ(row->object_label, "China");
  EXPECT_EQ(row->valid.start().day(), 4);
  EXPECT_EQ(row->valid.end().month(), 11);
  EXPECT_FALSE(ParseIcewsLine("a\tb\tc").ok());
  EXPECT_FALSE(ParseIcewsLine("a\tb\tc\t2014-1-04").ok());
  EXPECT_FALSE(ParseIcewsLine("\tb\tc\t2014-11-04").ok());
}

TEST(Rows, YagoRowKeepsUnknownEndsApartFromOpenOnes) {
  auto row = ParseYagoLine("<Government_of_Canada>\t<owns>\t<RCAF_Station_Grostenquin>\t1952-##-##\t####-##-##");
  ASSERT_TRUE(row.ok()) << row.status();
  EXPECT_EQ(row->subject_label, "Government of Canada");
  EXPECT_EQ(row->predicate, "owns");
  EXPECT_EQ(row->valid.start().year(), 1952);
  EXPECT_TRUE(row->valid.end_unknown()) << "#### is an unknown end, not 'still holding'";
  auto bad = ParseYagoLine("<a>\t<p>\t<b>\t307-13047-09\t####-##-##");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message().rfind("start ", 0), 0u);
}

}  // namespace
}  // namespace annals::cli
