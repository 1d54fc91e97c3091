"""Training pipelines: config -> data -> fit -> evaluate -> log -> register."""
