"""hubwatch: tracks China's innovation hubs and the 15th Five-Year Plan in policy pages."""

__version__ = "0.1.0"
