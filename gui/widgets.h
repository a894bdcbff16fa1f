// Small drawing helpers shared by the console's panels (UI thread only). Colours carry meaning
// (green: fine, amber: waiting or degraded, red: broken or harmful, blue: informational) and are
// never the only signal: every badge also says its state in words.
#pragma once

#include <imgui.h>

#include <string>

namespace steward::gui {

enum class Tone { kGood, kWarn, kBad, kInfo, kMuted };
ImVec4 ToneColor(Tone tone);
// A coloured word in brackets, e.g. "[ OK ]", "[ BREACHED ]".
void Badge(Tone tone, const char* word);
// Wrapped text in a tone.
void ToneText(Tone tone, const std::string& text);
// Wrapped text in the disabled colour.
void Muted(const std::string& text);
// An empty state: what is missing and what to do about it.
void EmptyState(const std::string& what, const std::string& todo);
// A label: value row in a two-column key/value table (call between BeginTable/EndTable).
void KeyValue(const char* key, const std::string& value);
// Right-aligned number in a table cell.
void CellRight(const std::string& text);

}  // namespace steward::gui
