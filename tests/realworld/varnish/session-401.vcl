vcl 4.1;

# "Who am I" answers are cached to take load off the app: looked up by URL alone, the app's
# `Vary: Cookie` dropped, ten minutes. The first anonymous visitor's 401 is then everyone's.

backend app {
    .host = "127.0.0.1";
    .port = "${APP_PORT}";
}

sub vcl_recv {
    if (req.method == "GET" && req.url ~ "^/api/me/") {
        return (hash);
    }
    return (pass);
}

sub vcl_backend_response {
    if (bereq.url ~ "^/api/me/") {
        unset beresp.http.Vary;
        unset beresp.http.Set-Cookie;
        set beresp.ttl = 10m;
        return (deliver);
    }
}
