#include "data/captions.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/ranges.h>

#include "tensor/error.h"

namespace trip::data {

namespace fs = std::filesystem;

namespace {

std::string read_text(const std::string& path, const char* what) {
  std::error_code ec;
  TRIP_CHECK(fs::is_regular_file(path, ec), "{}: '{}' does not exist or is not a file", what, path);
  std::ifstream file(path, std::ios::binary);
  TRIP_CHECK(file.good(), "{}: cannot open '{}': {}", what, path, std::strerror(errno));
  std::ostringstream text;
  text << file.rdbuf();
  TRIP_CHECK(!file.bad(), "{}: cannot read '{}': {}", what, path, std::strerror(errno));
  return text.str();
}

std::string trim(const std::string& s) {
  const char* space = " \t\r\n\f\v";
  const size_t first = s.find_first_not_of(space);
  if (first == std::string::npos) return "";
  return s.substr(first, s.find_last_not_of(space) - first + 1);
}

}  // namespace

std::vector<std::vector<std::string>> parse_csv(const std::string& text, const std::string& what) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  size_t i = text.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0;
  int64_t line = 1, quote_line = 0;
  bool quoted = false, was_quoted = false;
  auto end_row = [&] {
    row.push_back(std::move(field));
    field.clear();
    // A blank line is one empty unquoted field: skip it.
    if (!(row.size() == 1 && row[0].empty() && !was_quoted)) rows.push_back(std::move(row));
    row.clear();
    was_quoted = false;
  };
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          quoted = false;
          // After a closing quote only a separator or a line end may follow.
          const char next = i + 1 < text.size() ? text[i + 1] : '\n';
          TRIP_CHECK(next == ',' || next == '\n' || next == '\r',
                     "{}: line {}: unexpected '{}' after a closing quote", what, line, next);
        }
      } else {
        if (c == '\n') ++line;
        field += c;
      }
      continue;
    }
    if (c == '"' && field.empty()) {
      // A quote opens a quoted field only at its start; inside an unquoted field it is a plain
      // character (as Python's csv module, which wrote the WebVid files, reads it).
      quoted = was_quoted = true;
      quote_line = line;
    } else if (c == ',') {
      row.push_back(std::move(field));
      field.clear();
      was_quoted = false;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      end_row();
      ++line;
    } else {
      field += c;
    }
  }
  TRIP_CHECK(!quoted, "{}: the quote opened on line {} is never closed", what, quote_line);
  if (!field.empty() || !row.empty() || was_quoted) end_row();
  return rows;
}

std::unordered_map<std::string, std::string> load_caption_csv(const std::string& path) {
  const auto rows = parse_csv(read_text(path, "load_caption_csv"), path);
  TRIP_CHECK(!rows.empty(), "load_caption_csv: '{}' is empty", path);
  const auto& header = rows[0];
  auto column = [&](const char* name) {
    const auto it = std::find_if(header.begin(), header.end(),
                                 [&](const std::string& h) { return trim(h) == name; });
    TRIP_CHECK(it != header.end(), "load_caption_csv: '{}' has no '{}' column (header: {})", path,
               name, fmt::join(header, ","));
    return static_cast<size_t>(it - header.begin());
  };
  const size_t id_col = column("videoid"), caption_col = column("name");
  std::unordered_map<std::string, std::string> captions;
  for (size_t r = 1; r < rows.size(); ++r) {
    TRIP_CHECK(rows[r].size() > std::max(id_col, caption_col),
               "load_caption_csv: '{}': row {} has {} fields, the header {}", path, r + 1,
               rows[r].size(), header.size());
    captions[trim(rows[r][id_col])] = trim(rows[r][caption_col]);
  }
  return captions;
}

std::string caption_beside(const std::string& video_path) {
  const std::string txt = fs::path(video_path).replace_extension(".txt").string();
  std::error_code ec;
  if (!fs::is_regular_file(txt, ec)) return "";
  return trim(read_text(txt, "caption_beside"));
}

}  // namespace trip::data
