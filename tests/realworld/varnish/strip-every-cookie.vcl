vcl 4.1;

# The shortest "make everything cacheable" recipe: cookies are dropped from every request, the login
# form's own POST included, so the app never sees the CSRF cookie the browser sends back.

backend app {
    .host = "127.0.0.1";
    .port = "${APP_PORT}";
}

sub vcl_recv {
    unset req.http.Cookie;
}
