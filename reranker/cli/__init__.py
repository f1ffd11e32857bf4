"""The command line (faq-rerank-desk serve | score | answer | evaluate): a thin layer over the package."""
