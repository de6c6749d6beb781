#include "storage/name_folding.h"

#include <memory>

#include <unicode/translit.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>

namespace annals::storage {
namespace {

// ICU transliterators are not thread-safe and costly to build: one per thread.
icu::Transliterator* Folder() {
  thread_local std::unique_ptr<icu::Transliterator> folder = [] {
    UErrorCode status = U_ZERO_ERROR;
    std::unique_ptr<icu::Transliterator> t(icu::Transliterator::createInstance(
        "NFKD; [:Nonspacing Mark:] Remove; Lower; NFC", UTRANS_FORWARD, status));
    return U_SUCCESS(status) ? std::move(t) : nullptr;
  }();
  return folder.get();
}

}  // namespace

std::string FoldName(std::string_view name) {
  icu::UnicodeString text = icu::UnicodeString::fromUTF8(
      icu::StringPiece(name.data(), static_cast<int32_t>(name.size())));
  if (auto* folder = Folder()) folder->transliterate(text);
  text.foldCase();
  // Letters and digits stay; every run of anything else becomes one space.
  icu::UnicodeString cleaned;
  bool pending_space = false;
  for (int32_t i = 0; i < text.length();) {
    const UChar32 c = text.char32At(i);
    i += U16_LENGTH(c);
    if (u_isalnum(c)) {
      if (pending_space && !cleaned.isEmpty()) cleaned.append(UChar32{' '});
      pending_space = false;
      cleaned.append(c);
    } else {
      pending_space = true;
    }
  }
  std::string out;
  cleaned.toUTF8String(out);
  return out;
}

std::vector<std::string> NameTerms(std::string_view name) {
  const std::string folded = FoldName(name);
  std::vector<std::string> terms;
  if (folded.empty()) return terms;
  terms.push_back(folded);
  for (size_t i = 0; i < folded.size(); ++i)
    if (folded[i] == ' ') terms.push_back(folded.substr(i + 1));
  return terms;
}

}  // namespace annals::storage
