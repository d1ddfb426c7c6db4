vcl 4.1;

# A cache in front of an API told to cache every GET: the Authorization header is dropped so that the
# built-in rules (which pass requests that carry it) do not stop the lookup.

backend app {
    .host = "127.0.0.1";
    .port = "${APP_PORT}";
}

sub vcl_recv {
    unset req.http.Authorization;
}
