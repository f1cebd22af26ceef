// SVG chart helpers: nice numbers and ticks computed by hand, tick labels, escaping, chart markup.
#include "pipeline/svg_chart.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "xml_check.h"

namespace embedtune::pipeline {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(SvgChart, NiceNumberByHand) {
  // round = false: smallest of {1, 2, 5, 10} x 10^e that is >= x.
  EXPECT_DOUBLE_EQ(nice_number(0.28, false), 0.5);
  EXPECT_DOUBLE_EQ(nice_number(7.3, false), 10.0);
  EXPECT_DOUBLE_EQ(nice_number(130.0, false), 200.0);
  EXPECT_DOUBLE_EQ(nice_number(1.0, false), 1.0);
  // round = true: thresholds 1.5, 3 and 7 on the mantissa.
  EXPECT_DOUBLE_EQ(nice_number(0.125, true), 0.1);
  EXPECT_DOUBLE_EQ(nice_number(2.5, true), 2.0);
  EXPECT_DOUBLE_EQ(nice_number(3.2, true), 5.0);
  EXPECT_DOUBLE_EQ(nice_number(7.5, true), 10.0);
  EXPECT_DOUBLE_EQ(nice_number(5e-6, true), 5e-6);
}

TEST(SvgChart, NiceTicksByHand) {
  // NDCG values 0.55 .. 0.83, 5 ticks: range nice(0.28, false) = 0.5; step nice(0.5 / 4 = 0.125) =
  // 0.1; first floor(5.5) * 0.1 = 0.5, last ceil(8.3) * 0.1 = 0.9.
  Ticks t = nice_ticks(0.55, 0.83, 5);
  EXPECT_DOUBLE_EQ(t.step, 0.1);
  EXPECT_DOUBLE_EQ(t.first, 0.5);
  EXPECT_DOUBLE_EQ(t.last, 0.9);
  ASSERT_EQ(t.values.size(), 5u);
  EXPECT_DOUBLE_EQ(t.values[3], 0.8);

  // Steps 0 .. 1000, 6 ticks: range 1000, step nice(200, true) = 200.
  t = nice_ticks(0, 1000, 6);
  EXPECT_DOUBLE_EQ(t.step, 200.0);
  EXPECT_THAT(t.values, ElementsAre(0, 200, 400, 600, 800, 1000));

  // A learning rate 0 .. 2e-5: step nice(5e-6, true) = 5e-6.
  t = nice_ticks(0, 2e-5, 5);
  EXPECT_DOUBLE_EQ(t.step, 5e-6);
  ASSERT_EQ(t.values.size(), 5u);
  EXPECT_DOUBLE_EQ(t.values[4], 2e-5);

  // A constant series (3, 3) widens by 10%: 2.7 .. 3.3, range nice(0.6, false) = 1, step 0.2,
  // first floor(13.5) * 0.2 = 2.6, last ceil(16.5) * 0.2 = 3.4.
  t = nice_ticks(3, 3, 5);
  EXPECT_DOUBLE_EQ(t.step, 0.2);
  EXPECT_NEAR(t.first, 2.6, 1e-12);
  EXPECT_NEAR(t.last, 3.4, 1e-12);

  // Bounds that are exact multiples of the step stay put despite 0.6 / 0.2 = 2.9999999999999996.
  t = nice_ticks(0.6, 1.0, 3);
  EXPECT_DOUBLE_EQ(t.step, 0.2);
  EXPECT_NEAR(t.first, 0.6, 1e-12);
  EXPECT_EQ(t.values.size(), 3u);

  // Reversed and non-finite input.
  t = nice_ticks(10, 0, 6);
  EXPECT_DOUBLE_EQ(t.first, 0.0);
  EXPECT_DOUBLE_EQ(t.last, 10.0);
  t = nice_ticks(std::nan(""), 1, 6);
  EXPECT_DOUBLE_EQ(t.first, 0.0);
  EXPECT_DOUBLE_EQ(t.last, 1.0);
}

TEST(SvgChart, TickLabels) {
  EXPECT_EQ(format_tick(0.55, 0.05), "0.55");
  EXPECT_EQ(format_tick(7 * 0.1, 0.1), "0.7");
  EXPECT_EQ(format_tick(0.5, 0.1), "0.5");
  EXPECT_EQ(format_tick(1000, 200), "1000");
  EXPECT_EQ(format_tick(3 * 5e-6, 5e-6), "1.5e-5");
  EXPECT_EQ(format_tick(0, 0.1), "0");
  EXPECT_EQ(format_tick(-0.0, 1), "0");
  EXPECT_EQ(format_tick(-0.25, 0.05), "-0.25");
  EXPECT_EQ(format_tick(2e6, 1e6), "2e6");
  EXPECT_EQ(format_tick(1e-10, 1e-10), "1e-10");
}

TEST(SvgChart, EscapesHtmlAndXml) {
  EXPECT_EQ(escape_html("<script>&\"'"), "&lt;script&gt;&amp;&quot;&#39;");
  EXPECT_EQ(escape_html("dim 64 – ünïcode"), "dim 64 – ünïcode");
}

LineChart example_chart() {
  LineChart c;
  c.title = "NDCG <&> dims";
  c.x_label = "dimension";
  c.y_label = "score";
  c.x_scale = AxisScale::kLog2;
  c.x_ticks = {64, 128, 256, 384};
  c.series.push_back(
      {"baseline", {{64, 0.6}, {128, 0.7}, {256, 0.74}, {384, 0.75}}, "#0072B2", true, true});
  c.series.push_back({"fine-tuned",
                      {{64, 0.7}, {128, std::nan("")}, {256, 0.8}, {384, 0.81}},
                      "#D55E00",
                      false,
                      true});
  return c;
}

TEST(SvgChart, RendersWellFormedSvgWithAxesGridAndLegend) {
  const std::string svg = render_svg(example_chart());
  EXPECT_EQ(testing::xml_problem(svg), "");
  EXPECT_THAT(svg, ::testing::StartsWith("<svg xmlns=\"http://www.w3.org/2000/svg\""));
  EXPECT_THAT(svg, HasSubstr("NDCG &lt;&amp;&gt; dims"));
  EXPECT_THAT(svg, Not(HasSubstr("<&>")));
  for (const char* label : {">64<", ">128<", ">256<", ">384<", ">baseline<", ">fine-tuned<",
                            ">dimension<", ">score<"}) {
    EXPECT_THAT(svg, HasSubstr(label));
  }
  // y data 0.6 .. 0.81: range nice(0.21, false) = 0.5, step nice(0.1, true) = 0.1, ticks 0.6 ..
  // 0.9.
  EXPECT_THAT(svg, HasSubstr(">0.6<"));
  EXPECT_THAT(svg, HasSubstr(">0.9<"));
  EXPECT_THAT(svg, HasSubstr("stroke-dasharray"));
  // The NaN point breaks the fine-tuned line into a lone point (no polyline) and one of two points:
  // 1 polyline for baseline + 1 for fine-tuned.
  size_t polylines = 0;
  for (size_t at = svg.find("<polyline"); at != std::string::npos;
       at = svg.find("<polyline", at + 1))
    ++polylines;
  EXPECT_EQ(polylines, 2u);
  EXPECT_EQ(render_svg(example_chart()), svg);  // deterministic
}

TEST(SvgChart, Log2AxisPlacesPowersOfTwoEvenly) {
  LineChart c = example_chart();
  c.x_ticks = {64, 128, 256, 512};
  c.series = {{"s", {{64, 0.5}, {128, 0.6}, {256, 0.7}, {512, 0.8}}, "#000", false, false}};
  const std::string svg = render_svg(c);
  // Points on the polyline: equal x gaps on a log2 axis.
  const size_t at = svg.find("points=\"");
  ASSERT_NE(at, std::string::npos);
  std::vector<double> xs;
  std::string pts = svg.substr(at + 8, svg.find('"', at + 8) - at - 8);
  for (size_t p = 0; p < pts.size();) {
    xs.push_back(std::stod(pts.substr(p)));
    p = pts.find(' ', p);
    if (p == std::string::npos) break;
    ++p;
  }
  ASSERT_EQ(xs.size(), 4u);
  EXPECT_NEAR(xs[1] - xs[0], xs[2] - xs[1], 0.11);
  EXPECT_NEAR(xs[2] - xs[1], xs[3] - xs[2], 0.11);
  // The plot spans the area minus 4% padding on each side.
  const PlotArea a = plot_area(c);
  EXPECT_NEAR(xs[0] - a.left, (a.right - a.left) * 0.04 / 1.08, 0.1);
}

TEST(SvgChart, EmptyChartSaysNoData) {
  LineChart c;
  c.title = "empty";
  c.series.push_back({"nothing", {{1, std::nan("")}}, "#000", false, true});
  const std::string svg = render_svg(c);
  EXPECT_THAT(svg, HasSubstr(">no data<"));
  EXPECT_EQ(testing::xml_problem(svg), "");
  for (const char* bad : {"\"nan", "nan\"", ",nan", "nan,", ">nan<", "inf"})
    EXPECT_THAT(svg, Not(HasSubstr(bad)));
}

TEST(SvgChart, OverlappingXLabelsAreThinned) {
  LineChart c;
  c.x_scale = AxisScale::kLog2;
  c.x_ticks = {1000, 1001, 1002, 4000};
  c.series = {{"", {{1000, 1}, {4000, 2}}, "#000", false, true}};
  const std::string svg = render_svg(c);
  EXPECT_THAT(svg, HasSubstr(">1000<"));
  EXPECT_THAT(svg, Not(HasSubstr(">1001<")));
  EXPECT_THAT(svg, HasSubstr(">4000<"));
}

}  // namespace
}  // namespace embedtune::pipeline
