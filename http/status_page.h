// The status page (`GET /` of `recur run --http`): one self-contained HTML
// page (no network but its own server) whose script reads /metrics and
// /readyz every second and draws, as SVG: events applied per second, lag,
// dead letters by reason, the distribution of published scores per target,
// and each model's largest drift figures (PSI per input, line at 0.25).
#ifndef RECUR_HTTP_STATUS_PAGE_H_
#define RECUR_HTTP_STATUS_PAGE_H_

namespace recur {

const char* StatusPageHtml();

}  // namespace recur

#endif  // RECUR_HTTP_STATUS_PAGE_H_
