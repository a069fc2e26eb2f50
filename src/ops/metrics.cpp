#include "ops/metrics.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <iterator>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace exchanged::ops {
namespace {

bool name_start(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

bool name_char(char c) {
    return name_start(c) || (c >= '0' && c <= '9');
}

// Returns why `labels` is not `name="value"(,name="value")*` with the format's escapes, or an
// empty string when it is. A malformed set would make the whole scrape unparseable, so it is
// refused at start-up rather than discovered by the scraper.
std::string label_set_error(std::string_view labels) {
    std::vector<std::string_view> names;
    std::size_t i = 0;
    while (i < labels.size()) {
        const std::size_t start = i;
        if (!name_start(labels[i])) {
            return "a label name must start with [a-zA-Z_]";
        }
        while (i < labels.size() && name_char(labels[i])) {
            ++i;
        }
        const std::string_view name = labels.substr(start, i - start);
        if (name.starts_with("__")) {
            return "label names starting with __ are reserved";
        }
        if (std::find(names.begin(), names.end(), name) != names.end()) {
            return "label " + std::string(name) + " given twice";
        }
        names.push_back(name);
        if (labels.substr(i, 2) != "=\"") {
            return "label " + std::string(name) + " needs =\"value\"";
        }
        i += 2;
        for (;;) {
            if (i >= labels.size() || labels[i] == '\n') {
                return "the value of label " + std::string(name) + " is not closed by \"";
            }
            if (labels[i] == '"') {
                ++i;
                break;
            }
            if (labels[i] == '\\') {
                if (i + 1 >= labels.size() ||
                    (labels[i + 1] != '\\' && labels[i + 1] != '"' && labels[i + 1] != 'n')) {
                    return "in label " + std::string(name) + ", \\ must be followed by \\, \" or n";
                }
                ++i;
            }
            ++i;
        }
        if (i < labels.size()) {
            if (labels[i] != ',' || i + 1 == labels.size()) {
                return "label pairs are separated by a single ','";
            }
            ++i;
        }
    }
    return {};
}

void append_help(std::string& out, std::string_view help) {
    for (char c : help) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
}

// Prometheus parses values as Go floats: "NaN", "+Inf", "-Inf", or a number. The shortest
// round-trip form prints counts as plain integers up to 2^53.
void append_value(std::string& out, double value) {
    if (std::isnan(value)) {
        out += "NaN";
        return;
    }
    if (std::isinf(value)) {
        out += value > 0 ? "+Inf" : "-Inf";
        return;
    }
    std::array<char, 32> buffer{};
    const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
    out.append(buffer.data(), result.ptr);
}

// A bucket bound as Go's strconv.FormatFloat(v, 'g', -1, 64) writes it, which is what the official
// client libraries put in `le` (0.0001, 1e-05), so series keep their identity across exporters.
void append_bound(std::string& out, double bound) {
    std::array<char, 32> buffer{};
    const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), bound,
                                      std::chars_format::general);
    out.append(buffer.data(), result.ptr);
}

void append_series_name(std::string& out, std::string_view name, std::string_view suffix,
                        std::string_view labels, std::string_view extra_label) {
    out += name;
    out += suffix;
    if (!labels.empty() || !extra_label.empty()) {
        out += '{';
        out += labels;
        if (!labels.empty() && !extra_label.empty()) {
            out += ',';
        }
        out += extra_label;
        out += '}';
    }
    out += ' ';
}

void append_histogram(std::string& out, std::string_view name, std::string_view labels,
                      const HistogramSnapshot& h) {
    if (h.counts.size() != h.upper_bounds.size() + 1) {
        throw std::logic_error("histogram " + std::string(name) +
                               ": the snapshot's counts do not match its bounds");
    }
    std::string le;
    for (std::size_t i = 0; i <= h.upper_bounds.size(); ++i) {
        le = "le=\"";
        if (i < h.upper_bounds.size()) {
            append_bound(le, h.upper_bounds[i]);
        } else {
            le += "+Inf";
        }
        le += '"';
        append_series_name(out, name, "_bucket", labels, le);
        append_value(out, static_cast<double>(h.counts[i]));
        out += '\n';
    }
    append_series_name(out, name, "_sum", labels, {});
    append_value(out, h.sum);
    out += '\n';
    append_series_name(out, name, "_count", labels, {});
    append_value(out, static_cast<double>(h.count()));
    out += '\n';
}

}  // namespace

bool valid_metric_name(std::string_view name) {
    if (name.empty() || (!name_start(name.front()) && name.front() != ':')) {
        return false;
    }
    return std::all_of(name.begin(), name.end(), [](char c) { return name_char(c) || c == ':'; });
}

void Metrics::counter(std::string name, std::string help, Read read) {
    add(Type::Counter, std::move(name), std::move(help), {}, std::move(read));
}

void Metrics::gauge(std::string name, std::string help, Read read) {
    add(Type::Gauge, std::move(name), std::move(help), {}, std::move(read));
}

void Metrics::counter(std::string name, std::string help, std::string labels, Read read) {
    add(Type::Counter, std::move(name), std::move(help), std::move(labels), std::move(read));
}

void Metrics::gauge(std::string name, std::string help, std::string labels, Read read) {
    add(Type::Gauge, std::move(name), std::move(help), std::move(labels), std::move(read));
}

void Metrics::histogram(std::string name, std::string help, ReadHistogram read) {
    histogram(std::move(name), std::move(help), {}, std::move(read));
}

void Metrics::histogram(std::string name, std::string help, std::string labels,
                        ReadHistogram read) {
    if (labels == "le" || labels.starts_with("le=") || labels.find(",le=") != std::string::npos) {
        throw std::invalid_argument("histogram " + name +
                                    ": the label le is reserved for the bucket bounds");
    }
    add(Type::Histogram, std::move(name), std::move(help), std::move(labels), {}, std::move(read));
}

void Metrics::add(Type type, std::string name, std::string help, std::string labels, Read read,
                  ReadHistogram read_histogram) {
    if (sealed()) {
        throw std::logic_error("metric " + name +
                               " registered after the registry was sealed (the admin server "
                               "started); register every metric before starting it");
    }
    if (!valid_metric_name(name)) {
        throw std::invalid_argument("bad metric name '" + name +
                                    "': must match [a-zA-Z_:][a-zA-Z0-9_:]*");
    }
    if (const std::string error = label_set_error(labels); !error.empty()) {
        throw std::invalid_argument("metric " + name + ": bad labels '" + labels + "': " + error);
    }
    if (type == Type::Histogram ? !read_histogram : !read) {
        throw std::invalid_argument("metric " + name + ": no read callback");
    }
    auto family = std::find_if(families_.begin(), families_.end(),
                               [&](const Family& f) { return f.name == name; });
    if (family == families_.end()) {
        families_.push_back(Family{std::move(name), std::move(help), type, {}});
        family = std::prev(families_.end());
    } else {
        if (family->type != type) {
            throw std::invalid_argument("metric " + name +
                                        " registered with two types (counter, gauge, histogram)");
        }
        if (family->help != help) {
            throw std::invalid_argument("metric " + name + " registered with two help texts");
        }
        const bool duplicate = std::any_of(family->series.begin(), family->series.end(),
                                           [&](const Series& s) { return s.labels == labels; });
        if (duplicate) {
            throw std::invalid_argument("metric " + name +
                                        (labels.empty() ? "" : "{" + labels + "}") +
                                        " registered twice");
        }
    }
    family->series.push_back(Series{std::move(labels), std::move(read), std::move(read_histogram)});
}

std::string Metrics::render() const {
    std::string out;
    for (const Family& family : families_) {
        out += "# HELP ";
        out += family.name;
        out += ' ';
        append_help(out, family.help);
        out += "\n# TYPE ";
        out += family.name;
        out += family.type == Type::Counter ? " counter\n"
               : family.type == Type::Gauge ? " gauge\n"
                                            : " histogram\n";
        for (const Series& series : family.series) {
            if (family.type == Type::Histogram) {
                append_histogram(out, family.name, series.labels, series.read_histogram());
                continue;
            }
            out += family.name;
            if (!series.labels.empty()) {
                out += '{';
                out += series.labels;
                out += '}';
            }
            out += ' ';
            append_value(out, series.read());
            out += '\n';
        }
    }
    return out;
}

}  // namespace exchanged::ops
