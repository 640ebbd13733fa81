// defines: the caption sources of imported videos: a WebVid-style CSV table (RFC 4180 quoting:
// fields in double quotes may hold commas, newlines and doubled "" quotes) and a .txt file beside
// each video; parse_csv, the CSV reader they use.
#pragma once
#include <string>
#include <unordered_map>
#include <vector>

namespace trip::data {

// Rows of fields. A UTF-8 byte-order mark and "\r\n" line ends are accepted; a last line without
// a line end is read; empty lines are skipped. Throws trip::Error naming `what` (a path) and the
// line for an unterminated quote or text after a closing quote. A quote inside an unquoted field
// is kept as a character.
std::vector<std::vector<std::string>> parse_csv(const std::string& text,
                                                const std::string& what = "CSV text");

// video id -> caption from a CSV whose header names the columns "videoid" and "name" (WebVid:
// videoid,contentUrl,duration,page_dir,name); other columns are ignored. Rows shorter than the
// header are an error naming the line; ids repeated keep the last caption.
std::unordered_map<std::string, std::string> load_caption_csv(const std::string& path);

// The caption of a video file from the .txt beside it ("clip.mp4" -> "clip.txt"), surrounding
// white space trimmed; "" when there is no such file.
std::string caption_beside(const std::string& video_path);

}  // namespace trip::data
