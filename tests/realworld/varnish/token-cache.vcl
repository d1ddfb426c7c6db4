vcl 4.1;

# A shared cache tuned the way sites tune it to take load off a token endpoint: the token document
# is cached per user by hashing the Cookie header (the session), although the origin says no-store.

backend app {
    .host = "127.0.0.1";
    .port = "${APP_PORT}";
}

sub vcl_recv {
    if (req.url ~ "^/api/token/") {
        return (hash);
    }
    return (pass);
}

sub vcl_hash {
    hash_data(req.http.Cookie);
}

sub vcl_backend_response {
    if (bereq.url ~ "^/api/token/") {
        set beresp.ttl = 1h;
        set beresp.grace = 0s;
        return (deliver);
    }
}
