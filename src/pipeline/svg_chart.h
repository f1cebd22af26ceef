// Small, deterministic SVG line charts for the run report: nice axis ticks, grid, legend, no
// script.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace embedtune::pipeline {

// Text escaped for HTML and XML alike: & < > " ' become entities, everything else is kept
// (UTF-8 passes through unchanged). Safe in element content and in quoted attribute values.
std::string escape_html(std::string_view text);

// Heckbert's "nice number" (Graphics Gems, 1990): the number 1, 2, 5 or 10 times a power of ten
// closest to `x` (round = true) or the smallest such number >= x (round = false). x > 0.
double nice_number(double x, bool round);

// Axis ticks covering [lo, hi]: step = nice_number(nice_number(hi - lo, false) / (max_ticks - 1),
// true), first = floor(lo / step) * step, last = ceil(hi / step) * step, values first, first +
// step, ..., last (each computed as k * step, so no error accumulates). lo == hi is widened to a
// unit range around the value (by 10% of |value|, or 1 when it is 0); lo > hi is swapped.
// Non-finite input -> [0, 1].
struct Ticks {
  double first = 0.0;
  double last = 1.0;
  double step = 1.0;
  std::vector<double> values;
};
Ticks nice_ticks(double lo, double hi, int max_ticks = 6);

// A tick label with as many decimals as the step needs (step 0.05 -> "0.55", step 10 -> "120"),
// or %g-style scientific notation when the step is below 1e-3 or a value is 1e6 or more
// without exponent padding ("2e-5", "1.5e-5", "2e6"). Negative zero prints as "0".
std::string format_tick(double value, double step);

enum class AxisScale { kLinear, kLog2 };

struct Series {
  std::string name;                               // shown in the legend
  std::vector<std::pair<double, double>> points;  // (x, y); non-finite points break the line
  std::string colour = "#0072B2";                 // any SVG colour
  bool dashed = false;
  bool markers = true;  // a dot at each point
};

struct LineChart {
  std::string title;
  std::string x_label;
  std::string y_label;
  AxisScale x_scale = AxisScale::kLinear;
  // Explicit x tick positions (e.g. the Matryoshka dimensions on a log2 axis); empty: nice ticks
  // on a linear axis, powers of two on a log2 axis.
  std::vector<double> x_ticks;
  std::vector<Series> series;
  int width = 860;  // pixels, the whole SVG including legend
  int height = 380;
};

// Pixel geometry of the plot area, exposed for tests.
struct PlotArea {
  double left = 0, top = 0, right = 0, bottom = 0;
};
PlotArea plot_area(const LineChart& chart);

// One <svg> element (well-formed XML, xmlns set, no script, fonts from the page's sans-serif):
// title, axes with ticks and labels, horizontal and vertical grid lines, one polyline per series
// (dashed if asked), a legend on the right when two or more series have names. Points with x <= 0
// are dropped on a log2 axis. A chart whose series hold no finite point draws the axes and a "no
// data" note. Same chart -> same bytes (coordinates printed with one decimal).
std::string render_svg(const LineChart& chart);

}  // namespace embedtune::pipeline
