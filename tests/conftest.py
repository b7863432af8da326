import jax
import matplotlib


jax.config.update("jax_enable_x64", True)
matplotlib.use("Agg")
