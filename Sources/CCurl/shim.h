#include <curl/curl.h>

/* curl_easy_setopt and curl_easy_getinfo are variadic, which Swift cannot call: one typed
   wrapper per argument type. */
static inline CURLcode lb_curl_set_long(CURL *h, CURLoption opt, long v) {
  return curl_easy_setopt(h, opt, v);
}
static inline CURLcode lb_curl_set_off(CURL *h, CURLoption opt, curl_off_t v) {
  return curl_easy_setopt(h, opt, v);
}
static inline CURLcode lb_curl_set_string(CURL *h, CURLoption opt, const char *v) {
  return curl_easy_setopt(h, opt, v);
}
static inline CURLcode lb_curl_set_pointer(CURL *h, CURLoption opt, void *v) {
  return curl_easy_setopt(h, opt, v);
}
static inline CURLcode lb_curl_set_slist(CURL *h, CURLoption opt, struct curl_slist *v) {
  return curl_easy_setopt(h, opt, v);
}
typedef size_t (*lb_curl_data_callback)(char *, size_t, size_t, void *);
static inline CURLcode lb_curl_set_data_callback(CURL *h, CURLoption opt, lb_curl_data_callback f) {
  return curl_easy_setopt(h, opt, f);
}
typedef int (*lb_curl_xferinfo_callback)(void *, curl_off_t, curl_off_t, curl_off_t, curl_off_t);
static inline CURLcode lb_curl_set_xferinfo_callback(CURL *h, lb_curl_xferinfo_callback f) {
  return curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, f);
}
static inline CURLcode lb_curl_get_long(CURL *h, CURLINFO info, long *v) {
  return curl_easy_getinfo(h, info, v);
}
static inline CURLcode lb_curl_get_off(CURL *h, CURLINFO info, curl_off_t *v) {
  return curl_easy_getinfo(h, info, v);
}
static inline CURLcode lb_curl_get_string(CURL *h, CURLINFO info, char **v) {
  return curl_easy_getinfo(h, info, v);
}
typedef int (*lb_curl_seek_callback)(void *, curl_off_t, int);
static inline CURLcode lb_curl_set_seek_callback(CURL *h, lb_curl_seek_callback f) {
  return curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, f);
}
