vcl 4.1;

# "Make everything cacheable", the response half: Set-Cookie is dropped from every answer so that
# Varnish may store it, and no cookie the origin sets ever reaches a browser.

backend app {
    .host = "127.0.0.1";
    .port = "${APP_PORT}";
}

sub vcl_backend_response {
    unset beresp.http.Set-Cookie;
}
