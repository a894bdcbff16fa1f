#include "fairness/popularity.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace steward::fairness {

std::vector<bool> ShortHead(std::span<const double> popularity, double head_share) {
  std::vector<bool> head(popularity.size(), false);
  double total = 0.0;
  for (double p : popularity) total += p;
  if (!(total > 0.0)) return head;
  std::vector<size_t> order(popularity.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return popularity[a] > popularity[b]; });
  const double goal = head_share * total;
  double sum = 0.0;
  for (size_t i : order) {
    if (sum >= goal) break;
    head[i] = true;
    sum += popularity[i];
  }
  return head;
}

PopularityBias ComputePopularityBias(const std::vector<std::vector<int32_t>>& lists, std::span<const double> popularity,
                                     const std::vector<bool>& is_head) {
  PopularityBias out;
  if (lists.empty()) return out;
  for (const auto& list : lists) {
    if (list.empty()) continue;
    double pop = 0.0, tail = 0.0;
    for (int32_t i : list) {
      pop += popularity[static_cast<size_t>(i)];
      tail += is_head[static_cast<size_t>(i)] ? 0.0 : 1.0;
    }
    const double n = static_cast<double>(list.size());
    out.arp += pop / n;
    out.aplt += tail / n;
    out.aclt += tail;
  }
  const double lists_n = static_cast<double>(lists.size());
  out.arp /= lists_n;
  out.aplt /= lists_n;
  out.aclt /= lists_n;
  return out;
}

double RelativeStd(std::span<const double> rates) {
  if (rates.empty()) return 0.0;
  double mean = 0.0;
  for (double r : rates) mean += r;
  mean /= static_cast<double>(rates.size());
  if (mean == 0.0) return 0.0;
  double var = 0.0;
  for (double r : rates) var += (r - mean) * (r - mean);
  return std::sqrt(var / static_cast<double>(rates.size())) / mean;
}

namespace {
double RelativeStdOfRates(std::span<const double> num, std::span<const double> den) {
  std::vector<double> rates;
  for (size_t g = 0; g < num.size() && g < den.size(); ++g) {
    if (den[g] > 0.0) rates.push_back(num[g] / den[g]);
  }
  return RelativeStd(rates);
}
}  // namespace

double PopRsp(std::span<const double> recommended, std::span<const double> candidates) {
  return RelativeStdOfRates(recommended, candidates);
}
double PopReo(std::span<const double> hits, std::span<const double> relevant) { return RelativeStdOfRates(hits, relevant); }

}  // namespace steward::fairness
