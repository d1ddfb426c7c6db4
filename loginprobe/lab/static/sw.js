// The /sw-app/ service worker. In cache-first mode it answers /sw-app/data from Cache Storage and
// keeps whatever the network returned, 401s included: the bug that leaves a signed-in user looking
// at a stale "not signed in" answer until the cache is cleared.
const CACHE_FIRST = __CACHE_FIRST__;
const CACHE_NAME = "sw-app-data-v1";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (!CACHE_FIRST || url.pathname !== "/sw-app/data") {
    return; // the network, as if there were no service worker
  }
  event.respondWith((async () => {
    const cache = await caches.open(CACHE_NAME);
    const cached = await cache.match(event.request, {ignoreVary: true});
    if (cached) {
      return cached;
    }
    const response = await fetch(event.request);
    await cache.put(event.request, response.clone());
    return response;
  })());
});
