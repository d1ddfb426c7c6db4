"""The embedded lab: a real local web site whose switches reproduce the ways logins end in 401.

Used by `loginprobe demo` and the tests only; checks never read its state.
"""
