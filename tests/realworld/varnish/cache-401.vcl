vcl 4.1;

# A cache tuned to take load off an API: every GET is looked up by URL alone, Authorization or not
# (Varnish's built-in rules would pass those), and 401s are kept for ten minutes like everything else.

backend app {
    .host = "127.0.0.1";
    .port = "${APP_PORT}";
}

sub vcl_recv {
    if (req.method == "GET") {
        return (hash);
    }
}

sub vcl_backend_response {
    set beresp.ttl = 10m;
    return (deliver);
}
