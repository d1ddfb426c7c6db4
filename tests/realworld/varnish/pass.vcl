vcl 4.1;

# The control: the same Varnish in front of the same app, passing every request to the origin.

backend app {
    .host = "127.0.0.1";
    .port = "${APP_PORT}";
}

sub vcl_recv {
    return (pass);
}
