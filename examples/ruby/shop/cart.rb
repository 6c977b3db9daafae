# frozen_string_literal: true

# The library half of the example.
module Shop
  class OutOfStock < StandardError; end
  class EmptyCart < StandardError; end

  STOCK = { "apple" => 5, "pear" => 2, "plum" => 0 }.freeze

  # One line of a cart; prices in cents.
  Item = Struct.new(:name, :price, :qty) do
    def total
      price * qty
    end
  end

  class << self
    def currency
      "EUR"
    end
  end

  # A cart: instance methods, a class method, an operator, a setter and a method-level rescue.
  class Cart
    attr_reader :owner

    def initialize
      @items = []
      @log = []
    end

    def self.describe(cart)
      cart.history.join("; ")
    end

    def add(name, price, qty)
      reserve(name, qty)
      @items << Item.new(name, price, qty)
      @log << "add #{name}"
      self
    end

    def names
      @items.map(&:name).sort { |a, b| b <=> a }
    end

    def subtotal(percent_off)
      @items.sum { |item| discounted(item.total, percent_off) }
    end

    # Raises on an empty cart.
    def checkout
      raise EmptyCart, "checkout of an empty cart" if @items.empty?

      @items.sum(&:total)
    end

    def owner=(name)
      @owner = name.capitalize
    end

    def ==(other)
      other.is_a?(Cart) && names == other.names
    end

    def history
      @log.dup
    end

    private

    # An early return on the good path; the method's own rescue turns a missing name into 0.
    def reserve(name, qty)
      return true if STOCK.fetch(name) >= qty

      raise OutOfStock, "add #{name}: out of stock"
    rescue KeyError
      0
    end

    def discounted(cents, percent_off) = cents * (100 - percent_off) / 100
  end
end
