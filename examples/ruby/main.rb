# frozen_string_literal: true

# The example program: it drives the shop library through instance, class and singleton-class
# methods, an operator, a setter, a method-level rescue, blocks, threads, an early return and
# an exception it rescues. Its output is deterministic.
require_relative "shop/cart"

def noop; end

def square(n)
  n * n
end

# Squares computed on threads, joined in order.
def squares(n)
  (0...n).map { |i| Thread.new { square(i) } }.map(&:value)
end

# Turns the exception of an empty cart into a message.
def safe_checkout(cart)
  cart.checkout
rescue Shop::EmptyCart => e
  "recovered: #{e.message}"
end

def main
  puts "telemetry demo"
  noop
  cart = Shop::Cart.new
  [["apple", 50, 3], ["pear", 120, 1], ["plum", 80, 1]].each do |name, price, qty|
    cart.add(name, price, qty)
  rescue Shop::OutOfStock => e
    puts "error: #{e.message}"
  end
  puts "items: #{cart.names.join(', ')}"
  puts "subtotal: #{cart.subtotal(10)}"
  puts "checkout: #{safe_checkout(cart)}"
  puts "empty checkout: #{safe_checkout(Shop::Cart.new)}"
  cart.owner = "ada"
  puts "owner: #{cart.owner}"
  puts "same: #{cart == cart}"
  puts "squares: #{squares(4).inspect}"
  puts "history: #{Shop::Cart.describe(cart)}"
  puts "currency: #{Shop.currency}"
end

main
