// Formatting helpers: an ES module with a default export and an arrow function.
export function money(amount) {
  return "$" + amount.toFixed(2);
}

export const table = (rows) => {
  const width = Math.max(...rows.map((row) => row[0].length));
  return rows.map((row) => `${row[0].padEnd(width)} | ${row[1]}`).join("\n");
};

export default function (title) {
  return `== ${title} ==`;
}
