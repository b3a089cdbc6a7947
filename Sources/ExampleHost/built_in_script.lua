-- A user script: look up products with the app's tool, then ask a model to write copy.
local lines = {}
for _, sku in ipairs{'QX-100', 'QX-200', 'QX-999'} do
  local ok, item = pcall(shop.lookup, sku)
  if ok then
    lines[#lines + 1] = string.format('%s: %s, %.2f EUR, %s', sku, item.name, item.price,
                                      item.in_stock and 'in stock' or 'sold out')
  else
    lines[#lines + 1] = string.format('%s: %s', sku, item.code)
  end
end
local reply = bedrock.converse{
  model = 'amazon.nova-micro-v1:0',
  system = 'You write one-line product blurbs.',
  messages = table.concat(lines, '\n'),
  inference = {max_tokens = 60},
}
print(table.concat(lines, '\n'))
return {blurb = reply.text, tokens = reply.usage.total_tokens}
