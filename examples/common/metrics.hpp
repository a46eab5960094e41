#pragma once
// metrics.csv of a run: one row per evaluation, first column the step. Rewritten whole (and
// atomically) after each row, so a crash never leaves half a file; on --resume the rows up to the
// checkpoint's step are read back.
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <xgrad/serialize.hpp>

namespace xgrad::examples {

class MetricsLog {
 public:
  MetricsLog(std::string path, std::vector<std::string> columns) : path_(std::move(path)), columns_(std::move(columns)) {}

  void add(std::vector<double> row) {
    XG_CHECK(row.size() == columns_.size(), "metrics: a row of ", row.size(), " values for ", columns_.size(), " columns");
    rows_.push_back(std::move(row));
    write();
  }

  // Keeps the file's rows whose step is at most `step` (what a checkpoint at `step` had seen).
  void restore_until(double step) {
    std::ifstream f(path_);
    std::string line;
    std::getline(f, line);
    for (int number = 2; std::getline(f, line); ++number) {
      std::vector<double> row;
      std::stringstream ss(line);
      for (std::string cell; std::getline(ss, cell, ',');) {
        char* end = nullptr;
        const double v = std::strtod(cell.c_str(), &end);
        XG_CHECK(!cell.empty() && end == cell.c_str() + cell.size(), "metrics: '", path_, "' line ", number,
                 " is not a row of numbers: '", line, "'");
        row.push_back(v);
      }
      XG_CHECK(row.size() == columns_.size(), "metrics: '", path_, "' line ", number, " has ", row.size(),
               " values for ", columns_.size(), " columns");
      if (row[0] <= step) rows_.push_back(std::move(row));
    }
  }

  std::vector<double> column(const std::string& name) const {
    size_t c = 0;
    while (c < columns_.size() && columns_[c] != name) ++c;
    XG_CHECK(c < columns_.size(), "metrics: no column '", name, "'");
    std::vector<double> out;
    for (auto& r : rows_) out.push_back(r[c]);
    return out;
  }
  bool empty() const { return rows_.empty(); }

 private:
  void write() const {
    if (path_.empty()) return;
    std::ostringstream s;
    s.precision(9);
    for (size_t c = 0; c < columns_.size(); ++c) s << (c ? "," : "") << columns_[c];
    s << "\n";
    for (auto& r : rows_) {
      for (size_t c = 0; c < r.size(); ++c) s << (c ? "," : "") << r[c];
      s << "\n";
    }
    write_file_atomic(path_, s.str());
  }
  std::string path_;
  std::vector<std::string> columns_;
  std::vector<std::vector<double>> rows_;
};

}  // namespace xgrad::examples
