// Small, deterministic SVG line charts for the run report: nice axis ticks, grid, legend, no
// script.
#include "pipeline/svg_chart.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace embedtune::pipeline {
namespace {

constexpr double kCharWidth = 7.0;  // rough width of a 12px sans-serif character, for layout only
constexpr const char* kAxisColour = "#444";
constexpr const char* kGridColour = "#e3e3e3";

std::string px(double v) { return fmt::format("{:.1f}", v); }

// Maps data x to the axis domain (log2 for a log2 axis).
double to_axis(double x, AxisScale scale) { return scale == AxisScale::kLog2 ? std::log2(x) : x; }

bool usable(double x, double y, AxisScale scale) {
  return std::isfinite(x) && std::isfinite(y) && (scale == AxisScale::kLinear || x > 0.0);
}

// A legend only where it tells series apart: two or more named series (a lone series is named by
// the chart's title).
double legend_width(const LineChart& chart) {
  size_t longest = 0, named = 0;
  for (const Series& s : chart.series) {
    longest = std::max(longest, s.name.size());
    named += s.name.empty() ? 0 : 1;
  }
  if (named < 2) return 0.0;
  return std::min(chart.width / 3.0, 44.0 + kCharWidth * static_cast<double>(longest));
}

// The tick label for an x value: an explicit tick is a data value (a dimension), so print it
// plainly; otherwise use the step's precision.
std::string x_tick_label(double value, double step, bool explicit_ticks) {
  if (explicit_ticks) return fmt::format("{:g}", value);
  return format_tick(value, step);
}

struct Domain {
  double lo = 0.0, hi = 1.0;
};

}  // namespace

std::string escape_html(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

double nice_number(double x, bool round) {
  const double exponent = std::floor(std::log10(x));
  const double fraction = x / std::pow(10.0, exponent);
  double nice;
  if (round) {
    nice = fraction < 1.5 ? 1.0 : fraction < 3.0 ? 2.0 : fraction < 7.0 ? 5.0 : 10.0;
  } else {
    nice = fraction <= 1.0 ? 1.0 : fraction <= 2.0 ? 2.0 : fraction <= 5.0 ? 5.0 : 10.0;
  }
  return nice * std::pow(10.0, exponent);
}

Ticks nice_ticks(double lo, double hi, int max_ticks) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) {
    lo = 0.0;
    hi = 1.0;
  }
  if (lo > hi) std::swap(lo, hi);
  if (lo == hi) {
    const double pad = lo == 0.0 ? 1.0 : std::abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  max_ticks = std::max(max_ticks, 2);
  const double range = nice_number(hi - lo, false);
  Ticks t;
  t.step = nice_number(range / (max_ticks - 1), true);
  // The epsilon keeps 0.55 / 0.05 = 10.999... from moving the first tick down a whole step.
  const auto k_first = static_cast<int64_t>(std::floor(lo / t.step + 1e-9));
  const auto k_last = static_cast<int64_t>(std::ceil(hi / t.step - 1e-9));
  t.first = static_cast<double>(k_first) * t.step;
  t.last = static_cast<double>(k_last) * t.step;
  for (int64_t k = k_first; k <= k_last; ++k) t.values.push_back(static_cast<double>(k) * t.step);
  return t;
}

std::string format_tick(double value, double step) {
  if (!std::isfinite(value)) return "n/a";
  if (std::abs(value) < std::abs(step) * 1e-9 || value == 0.0) return "0";
  if (!(step >= 1e-3) || std::abs(value) >= 1e6) {
    // %g without the exponent's padding: "2e-05" -> "2e-5", "2e+06" -> "2e6".
    std::string s = fmt::format("{:g}", value);
    const size_t e = s.find('e');
    if (e == std::string::npos) return s;
    std::string mantissa = s.substr(0, e), sign = s[e + 1] == '-' ? "-" : "";
    std::string digits = s.substr(e + 2);
    digits.erase(0, std::min(digits.find_first_not_of('0'), digits.size() - 1));
    return mantissa + "e" + sign + digits;
  }
  const int decimals = std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9)));
  return fmt::format("{:.{}f}", value, decimals);
}

PlotArea plot_area(const LineChart& chart) {
  PlotArea a;
  a.left = 72.0;
  a.top = 40.0;
  a.bottom = chart.height - 52.0;
  const double legend = legend_width(chart);
  a.right = chart.width - (legend > 0.0 ? legend + 24.0 : 20.0);
  return a;
}

std::string render_svg(const LineChart& chart) {
  const AxisScale scale = chart.x_scale;
  // Data extent over usable points.
  double x_min = std::numeric_limits<double>::infinity(), x_max = -x_min;
  double y_min = x_min, y_max = -x_min;
  for (const Series& s : chart.series) {
    for (const auto& [x, y] : s.points) {
      if (!usable(x, y, scale)) continue;
      x_min = std::min(x_min, x);
      x_max = std::max(x_max, x);
      y_min = std::min(y_min, y);
      y_max = std::max(y_max, y);
    }
  }
  const bool has_data = std::isfinite(x_min);
  const bool explicit_x = !chart.x_ticks.empty();

  // X domain (in axis units) and tick positions (in data units).
  std::vector<double> x_ticks;
  double x_step = 1.0;
  Domain xd;
  if (explicit_x) {
    for (double t : chart.x_ticks) {
      if (usable(t, 0.0, scale)) x_ticks.push_back(t);
    }
    for (double t : x_ticks) {
      x_min = std::min(x_min, t);
      x_max = std::max(x_max, t);
    }
  }
  if (!std::isfinite(x_min)) {
    x_min = scale == AxisScale::kLog2 ? 1.0 : 0.0;
    x_max = scale == AxisScale::kLog2 ? 2.0 : 1.0;
  }
  if (scale == AxisScale::kLog2) {
    xd = {std::log2(x_min), std::log2(x_max)};
    if (xd.lo == xd.hi) xd = {xd.lo - 0.5, xd.hi + 0.5};
    if (!explicit_x) {
      for (double e = std::floor(xd.lo); e <= std::ceil(xd.hi); e += 1.0)
        x_ticks.push_back(std::exp2(e));
      xd = {std::floor(xd.lo), std::ceil(xd.hi)};
    }
    const double pad = 0.04 * (xd.hi - xd.lo);
    xd = {xd.lo - pad, xd.hi + pad};
  } else if (explicit_x) {
    xd = {x_min, x_max};
    if (xd.lo == xd.hi) xd = {xd.lo - 1.0, xd.hi + 1.0};
    const double pad = 0.04 * (xd.hi - xd.lo);
    xd = {xd.lo - pad, xd.hi + pad};
  } else {
    const Ticks t = nice_ticks(x_min, x_max, 8);
    x_ticks = t.values;
    x_step = t.step;
    xd = {t.first, t.last};
  }
  const Ticks yt = has_data ? nice_ticks(y_min, y_max, 6) : nice_ticks(0.0, 1.0, 6);

  const PlotArea a = plot_area(chart);
  auto sx = [&](double x) {
    return a.left + (to_axis(x, scale) - xd.lo) / (xd.hi - xd.lo) * (a.right - a.left);
  };
  auto sy = [&](double y) {
    return a.bottom - (y - yt.first) / (yt.last - yt.first) * (a.bottom - a.top);
  };

  std::string out = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} "
      "{1}\" "
      "role=\"img\" aria-label=\"{2}\" font-family=\"sans-serif\" font-size=\"12\">\n",
      chart.width, chart.height, escape_html(chart.title));
  out += fmt::format("<title>{}</title>\n", escape_html(chart.title));
  out += fmt::format("<rect x=\"0\" y=\"0\" width=\"{}\" height=\"{}\" fill=\"#ffffff\"/>\n",
                     chart.width, chart.height);
  out += fmt::format(
      "<text x=\"{}\" y=\"22\" text-anchor=\"middle\" font-size=\"14\" font-weight=\"bold\" "
      "fill=\"#222\">{}</text>\n",
      px((a.left + a.right) / 2), escape_html(chart.title));

  // Grid and y ticks.
  out += "<g class=\"y-axis\">\n";
  for (double v : yt.values) {
    const std::string y = px(sy(v));
    out += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\"/>\n",
                       px(a.left), y, px(a.right), y, kGridColour);
    out += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\"/>\n",
                       px(a.left - 5), y, px(a.left), y, kAxisColour);
    out += fmt::format(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" dominant-baseline=\"middle\" "
        "fill=\"#333\">{}</text>\n",
        px(a.left - 8), y, escape_html(format_tick(v, yt.step)));
  }
  out += "</g>\n<g class=\"x-axis\">\n";
  double last_label_right = -std::numeric_limits<double>::infinity();
  for (double v : x_ticks) {
    const double xp = sx(v);
    if (xp < a.left - 0.5 || xp > a.right + 0.5) continue;
    const std::string x = px(xp);
    out += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\"/>\n", x,
                       px(a.top), x, px(a.bottom), kGridColour);
    out += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\"/>\n", x,
                       px(a.bottom), x, px(a.bottom + 5), kAxisColour);
    const std::string label = x_tick_label(v, x_step, explicit_x);
    const double half = kCharWidth * static_cast<double>(label.size()) / 2.0;
    if (xp - half < last_label_right + 6.0) continue;  // would overlap the previous label
    last_label_right = xp + half;
    out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#333\">{}</text>\n",
                       x, px(a.bottom + 19), escape_html(label));
  }
  out += "</g>\n";

  // Axis lines and labels.
  out += fmt::format(
      "<path d=\"M{0},{1} V{2} H{3}\" fill=\"none\" stroke=\"{4}\" stroke-width=\"1\"/>\n",
      px(a.left), px(a.top), px(a.bottom), px(a.right), kAxisColour);
  out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#222\">{}</text>\n",
                     px((a.left + a.right) / 2), px(a.bottom + 40), escape_html(chart.x_label));
  out += fmt::format(
      "<text x=\"18\" y=\"{0}\" text-anchor=\"middle\" fill=\"#222\" "
      "transform=\"rotate(-90 18 {0})\">{1}</text>\n",
      px((a.top + a.bottom) / 2), escape_html(chart.y_label));

  if (!has_data) {
    out +=
        fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#888\">no data</text>\n",
                    px((a.left + a.right) / 2), px((a.top + a.bottom) / 2));
  }

  // Series: one polyline per run of usable points.
  out += "<g class=\"series\" fill=\"none\" stroke-width=\"2\" stroke-linejoin=\"round\">\n";
  for (const Series& s : chart.series) {
    const std::string dash = s.dashed ? " stroke-dasharray=\"7 4\"" : "";
    std::vector<std::string> run;
    auto flush = [&] {
      if (run.size() >= 2) {
        out += fmt::format("<polyline stroke=\"{}\"{} points=\"{}\"/>\n", escape_html(s.colour),
                           dash, fmt::join(run, " "));
      }
      run.clear();
    };
    for (const auto& [x, y] : s.points) {
      if (!usable(x, y, scale)) {
        flush();
        continue;
      }
      run.push_back(px(sx(x)) + "," + px(sy(y)));
    }
    flush();
    if (!s.markers) continue;
    for (const auto& [x, y] : s.points) {
      if (!usable(x, y, scale)) continue;
      // Dashed (baseline) series get hollow markers, so overlapping points stay distinguishable.
      out += fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"3.5\" stroke=\"{}\" fill=\"{}\"/>\n",
                         px(sx(x)), px(sy(y)), escape_html(s.colour),
                         s.dashed ? "#ffffff" : escape_html(s.colour));
    }
  }
  out += "</g>\n";

  // Legend on the right.
  if (legend_width(chart) > 0.0) {
    out += "<g class=\"legend\">\n";
    double y = a.top + 8;
    for (const Series& s : chart.series) {
      const double x = a.right + 16;
      out += fmt::format(
          "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"2\"{}/>\n",
          px(x), px(y), px(x + 26), px(y), escape_html(s.colour),
          s.dashed ? " stroke-dasharray=\"7 4\"" : "");
      if (s.markers) {
        out += fmt::format(
            "<circle cx=\"{}\" cy=\"{}\" r=\"3.5\" stroke=\"{}\" fill=\"{}\" "
            "stroke-width=\"2\"/>\n",
            px(x + 13), px(y), escape_html(s.colour), s.dashed ? "#ffffff" : escape_html(s.colour));
      }
      out += fmt::format(
          "<text x=\"{}\" y=\"{}\" dominant-baseline=\"middle\" fill=\"#222\">{}</text>\n",
          px(x + 34), px(y), escape_html(s.name));
      y += 20;
    }
    out += "</g>\n";
  }
  out += "</svg>\n";
  return out;
}

}  // namespace embedtune::pipeline
