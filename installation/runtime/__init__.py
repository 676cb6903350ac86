"""The live runtime: a show's pipeline with its reader and core threads, the
supervisor, the operator console, and the launcher that builds it all from a show file."""
