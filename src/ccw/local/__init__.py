"""The embedded local model: llama.cpp's server (xllamacpp) with the SmolLM2-135M GGUF."""
