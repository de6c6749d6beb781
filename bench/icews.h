// ICEWS-style TSV (subject TAB predicate TAB object TAB YYYY-MM-DD) for the load benchmarks,
// shared by annals_bench, rocksdb_ceiling and bulk_load_bench so all three load the same
// entities and relations.
//
// Entity ids are deterministic: a slug of the name (lower-case ASCII letters and digits,
// anything else becomes '-', at most 40 bytes) plus '-' and 8 hex digits of the name's
// FNV-1a hash: "Catherine Ashton" -> "catherine-ashton-1f0e3a2b". Predicates are the
// source text as is ("Make a visit"). Each row is one relation, valid on its day
// (start = end = the date), status ASSERTED, id assigned by the store.
//
// `replicas` > 1 builds the scale data set: copy k (k >= 1) renames every entity to
// "NAME #k", so the copies share predicates and dates but not entities.
#pragma once

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

namespace annals::bench {

struct Row {
  uint32_t subject, object;  // indexes into Dataset::entities
  uint16_t predicate;        // index into Dataset::predicates
  int16_t year;
  int8_t month, day;
};

struct Entity {
  std::string id, name;
  int64_t degree = 0;  // relations touching it
};

struct Dataset {
  std::vector<Entity> entities;
  std::vector<std::string> predicates;
  std::vector<Row> rows;
};

// Fills a relation (annals.v1.Relation or storage RelationRecord: same field names) from
// one row: subject, predicate, object, start = end = the row's day, the given status.
template <typename Relation, typename Status>
void FillRelation(const Dataset& ds, const Row& row, Status status, Relation* r) {
  r->set_subject(ds.entities[row.subject].id);
  r->set_predicate(ds.predicates[row.predicate]);
  r->set_object_id(ds.entities[row.object].id);
  for (auto* d : {r->mutable_valid()->mutable_start(), r->mutable_valid()->mutable_end()}) {
    d->set_year(row.year);
    d->set_month(row.month);
    d->set_day(row.day);
  }
  r->set_status(status);
}

inline uint64_t Fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

inline std::string EntityId(const std::string& name) {
  std::string slug;
  for (unsigned char c : name) {
    if (slug.size() >= 40) break;
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) slug.push_back(static_cast<char>(c));
    else if (c >= 'A' && c <= 'Z') slug.push_back(static_cast<char>(c - 'A' + 'a'));
    else if (!slug.empty() && slug.back() != '-') slug.push_back('-');
  }
  while (!slug.empty() && slug.back() == '-') slug.pop_back();
  if (slug.empty()) slug = "e";
  char hash[16];
  std::snprintf(hash, sizeof hash, "%08x", static_cast<unsigned>(Fnv1a(name) & 0xffffffffu));
  return slug + "-" + hash;
}

// Reads the files (comma-separated list) `replicas` times. Exits on a malformed file.
inline Dataset LoadDataset(const std::string& files, int replicas = 1) {
  std::vector<std::string> paths;
  std::stringstream list(files);
  for (std::string p; std::getline(list, p, ',');)
    if (!p.empty()) paths.push_back(p);
  struct Raw {
    std::string s, p, o;
    int y, m, d;
  };
  std::vector<Raw> raw;
  for (const auto& path : paths) {
    std::ifstream in(path);
    if (!in) {
      std::cerr << "cannot read " << path << "\n";
      std::exit(2);
    }
    for (std::string line; std::getline(in, line);) {
      if (line.empty()) continue;
      std::stringstream fields(line);
      Raw r;
      std::string date;
      if (!std::getline(fields, r.s, '\t') || !std::getline(fields, r.p, '\t') ||
          !std::getline(fields, r.o, '\t') || !std::getline(fields, date, '\t') ||
          std::sscanf(date.c_str(), "%d-%d-%d", &r.y, &r.m, &r.d) != 3) {
        std::cerr << path << ": malformed line: " << line << "\n";
        std::exit(2);
      }
      raw.push_back(std::move(r));
    }
  }
  Dataset ds;
  std::unordered_map<std::string, uint32_t> entity_index;
  std::unordered_map<std::string, uint16_t> predicate_index;
  auto entity = [&](const std::string& name) {
    auto [it, added] = entity_index.emplace(name, static_cast<uint32_t>(ds.entities.size()));
    if (added) ds.entities.push_back({EntityId(name), name, 0});
    ds.entities[it->second].degree++;
    return it->second;
  };
  ds.rows.reserve(raw.size() * replicas);
  for (int k = 0; k < replicas; ++k) {
    const std::string suffix = k == 0 ? "" : " #" + std::to_string(k);
    for (const auto& r : raw) {
      auto [pit, padded] = predicate_index.emplace(r.p, static_cast<uint16_t>(ds.predicates.size()));
      if (padded) ds.predicates.push_back(r.p);
      Row row;
      row.subject = entity(r.s + suffix);
      row.object = entity(r.o + suffix);
      row.predicate = pit->second;
      row.year = static_cast<int16_t>(r.y);
      row.month = static_cast<int8_t>(r.m);
      row.day = static_cast<int8_t>(r.d);
      ds.rows.push_back(row);
    }
  }
  return ds;
}

}  // namespace annals::bench
